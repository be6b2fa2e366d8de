# Included by ctest after the doctest discovery script of tests/vm: on a kernel without the series
# every case prints "taskmpol-vm: skipped: <reason>" and exits 0; report such a run as skipped.
if(DEFINED taskmpol_vm_tests_TESTS)
  set_tests_properties(${taskmpol_vm_tests_TESTS} PROPERTIES SKIP_REGULAR_EXPRESSION "taskmpol-vm: skipped:;taskmpol-test-skip:")
endif()
