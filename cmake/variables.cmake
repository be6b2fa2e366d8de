include(GNUInstallDirs)

# Tests, examples, benchmarks and fuzzers are for people working on taskmpol, never for consumers.
option(TASKMPOL_DEVELOPER_MODE "Build the tests, examples, benchmarks and fuzzers" OFF)
if(DEFINED ENV{CI} AND PROJECT_IS_TOP_LEVEL)
  set(TASKMPOL_DEVELOPER_MODE ON CACHE BOOL "" FORCE)
endif()

option(TASKMPOL_INSTALL "Generate the install and package rules" ${PROJECT_IS_TOP_LEVEL})

# The command-line tools: the taskmpol command (with its manual, taskmpol(8)) and
# taskmpol-rebalancer. They need CLI11 and nlohmann_json (Debian: libcli11-dev nlohmann-json3-dev);
# OFF builds and installs the headers only. Developer mode builds them in any case (tests run them).
option(TASKMPOL_BUILD_TOOLS "Build and install taskmpol and taskmpol-rebalancer" ${PROJECT_IS_TOP_LEVEL})

# Consumers that add us with add_subdirectory see our headers as system headers, so our code
# never trips their warning flags.
set(taskmpol_warning_guard "")
if(NOT PROJECT_IS_TOP_LEVEL)
  option(TASKMPOL_INCLUDES_WITH_SYSTEM "Use SYSTEM for taskmpol's include directories" ON)
  if(TASKMPOL_INCLUDES_WITH_SYSTEM)
    set(taskmpol_warning_guard SYSTEM)
  endif()
endif()
