# cmake -D PKG_CONFIG=... -D PC_DIR=... -D INCLUDE_DIR=... -D CXX=... -D SOURCE=... -D WORK_DIR=...
#       -D VERSION=... -P pkg_config.cmake
# Compiles and runs SOURCE with exactly the flags `pkg-config --cflags taskmpol` gives for the
# installed taskmpol.pc. Without pkg-config it prints the line CTest's SKIP_REGULAR_EXPRESSION
# turns into a skip.

if(NOT PKG_CONFIG)
  message(STATUS "taskmpol-test-skip: pkg-config is not installed")
  return()
endif()

set(ENV{PKG_CONFIG_PATH} "${PC_DIR}")
function(pkg_config out)
  execute_process(COMMAND "${PKG_CONFIG}" ${ARGN} taskmpol RESULT_VARIABLE rc OUTPUT_VARIABLE text
    OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config ${ARGN} taskmpol failed (${rc})")
  endif()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

pkg_config(version --modversion)
if(NOT version STREQUAL VERSION)
  message(FATAL_ERROR "pkg-config reports version '${version}', the project is ${VERSION}")
endif()

pkg_config(cflags --cflags)
message(STATUS "pkg-config --cflags taskmpol: ${cflags}")
separate_arguments(cflags_list UNIX_COMMAND "${cflags}")

# The -I must name the prefix under test (the .pc locates itself, so `cmake --install --prefix` works).
set(include_ok FALSE)
file(REAL_PATH "${INCLUDE_DIR}" want)
foreach(flag IN LISTS cflags_list)
  if(flag MATCHES "^-I(.+)$")
    file(REAL_PATH "${CMAKE_MATCH_1}" got)
    if(got STREQUAL want)
      set(include_ok TRUE)
    endif()
  endif()
endforeach()
if(NOT include_ok)
  message(FATAL_ERROR "pkg-config --cflags does not point at ${INCLUDE_DIR}: ${cflags}")
endif()

file(MAKE_DIRECTORY "${WORK_DIR}")
execute_process(COMMAND "${CXX}" ${cflags_list} "-DCONSUMER_EXPECTED_VERSION=\"${version}\""
    -Wall -Wextra -Wpedantic -Wconversion -Werror "${SOURCE}" -o "${WORK_DIR}/consumer"
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "compiling with the pkg-config flags failed (${rc})")
endif()
execute_process(COMMAND "${WORK_DIR}/consumer" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the consumer built with pkg-config flags failed (${rc})")
endif()
