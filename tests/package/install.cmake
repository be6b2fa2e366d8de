# cmake -D BUILD_DIR=... -D PREFIX=... -D CONFIG=... -D INCLUDEDIR=... -D DATADIR=... -D BINDIR=...
#       -D MANDIR=... -P install.cmake
# Installs the build tree into an empty PREFIX and checks the result: the headers, the CMake package,
# the pkg-config file, the tools (taskmpol, taskmpol-rebalancer) and taskmpol(8) are there, and
# nothing else (no test, other example or doctest file). tools.cmake then runs what landed.

file(REMOVE_RECURSE "${PREFIX}")
execute_process(COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}" --config "${CONFIG}"
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${rc})")
endif()

set(expected
  "${INCLUDEDIR}/taskmpol/taskmpol.hpp"
  "${INCLUDEDIR}/taskmpol/policy.hpp"
  "${DATADIR}/taskmpol/cmake/taskmpolConfig.cmake"
  "${DATADIR}/taskmpol/cmake/taskmpolConfigVersion.cmake"
  "${DATADIR}/taskmpol/cmake/taskmpolTargets.cmake"
  "${DATADIR}/pkgconfig/taskmpol.pc"
  "${BINDIR}/taskmpol"
  "${BINDIR}/taskmpol-rebalancer"
  "${MANDIR}/man8/taskmpol.8")
foreach(file IN LISTS expected)
  if(NOT EXISTS "${PREFIX}/${file}")
    message(FATAL_ERROR "not installed: ${file}")
  endif()
endforeach()

file(GLOB_RECURSE installed LIST_DIRECTORIES false RELATIVE "${PREFIX}" "${PREFIX}/*")
foreach(file IN LISTS installed)
  if(NOT file MATCHES "^(${INCLUDEDIR}/taskmpol/|${DATADIR}/taskmpol/cmake/|${DATADIR}/pkgconfig/taskmpol\\.pc$|${BINDIR}/taskmpol$|${BINDIR}/taskmpol-rebalancer$|${MANDIR}/man8/taskmpol\\.8$)")
    message(FATAL_ERROR "installed but not part of the package: ${file}")
  endif()
endforeach()
list(LENGTH installed count)
message(STATUS "installed ${count} files into ${PREFIX}")
