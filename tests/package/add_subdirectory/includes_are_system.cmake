# cmake -D COMPILE_COMMANDS=<compile_commands.json> -D INCLUDE_DIR=<repo>/include -P includes_are_system.cmake
# Reads the compiler command line of consumer.cpp: taskmpol's include directory must come with
# -isystem (warnings in our headers never fail a consumer's -Werror build), never with -I.

file(READ "${COMPILE_COMMANDS}" json)
string(JSON count LENGTH "${json}")
math(EXPR last "${count} - 1")
set(command "")
foreach(i RANGE ${last})
  string(JSON file GET "${json}" ${i} file)
  if(file MATCHES "consumer\\.cpp$")
    string(JSON command GET "${json}" ${i} command)
  endif()
endforeach()
if(command STREQUAL "")
  message(FATAL_ERROR "no compile command for consumer.cpp in ${COMPILE_COMMANDS}")
endif()

string(FIND "${command} " " -isystem ${INCLUDE_DIR} " as_system)
string(FIND "${command} " " -I${INCLUDE_DIR} " as_user)
if(as_system EQUAL -1 OR NOT as_user EQUAL -1)
  message(FATAL_ERROR "taskmpol's headers are not system headers for the consumer:\n${command}")
endif()
message(STATUS "consumer.cpp sees ${INCLUDE_DIR} through -isystem")
