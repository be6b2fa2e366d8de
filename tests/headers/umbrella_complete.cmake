# cmake -D INCLUDE_ROOT=<repo>/include -P umbrella_complete.cmake
# Fails unless include/taskmpol/taskmpol.hpp includes every public header of include/taskmpol/
# (detail/ holds internals and is not listed).

set(umbrella "${INCLUDE_ROOT}/taskmpol/taskmpol.hpp")
if(NOT EXISTS "${umbrella}")
  message(FATAL_ERROR "missing umbrella header ${umbrella}")
endif()
file(READ "${umbrella}" text)

file(GLOB headers RELATIVE "${INCLUDE_ROOT}" "${INCLUDE_ROOT}/taskmpol/*.hpp")
list(REMOVE_ITEM headers taskmpol/taskmpol.hpp)
list(SORT headers)

set(missing "")
foreach(header IN LISTS headers)
  string(REGEX REPLACE "([.+])" "\\\\\\1" pattern "${header}")
  if(NOT text MATCHES "\n#include <${pattern}>")
    list(APPEND missing "${header}")
  endif()
endforeach()

if(missing)
  list(JOIN missing "\n  " missing)
  message(FATAL_ERROR "include/taskmpol/taskmpol.hpp does not include:\n  ${missing}")
endif()
list(LENGTH headers count)
message(STATUS "taskmpol.hpp includes all ${count} public headers")
