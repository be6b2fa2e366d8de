include(CMakePackageConfigHelpers)

set(taskmpol_package_dir "${CMAKE_INSTALL_DATADIR}/taskmpol/cmake")

install(DIRECTORY include/ DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}" COMPONENT taskmpol_Development)
install(TARGETS taskmpol EXPORT taskmpolTargets INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")

write_basic_package_version_file("${PROJECT_BINARY_DIR}/taskmpolConfigVersion.cmake"
  COMPATIBILITY SameMajorVersion ARCH_INDEPENDENT)
configure_package_config_file(cmake/taskmpolConfig.cmake.in "${PROJECT_BINARY_DIR}/taskmpolConfig.cmake"
  INSTALL_DESTINATION "${taskmpol_package_dir}")
install(FILES "${PROJECT_BINARY_DIR}/taskmpolConfig.cmake" "${PROJECT_BINARY_DIR}/taskmpolConfigVersion.cmake"
  DESTINATION "${taskmpol_package_dir}" COMPONENT taskmpol_Development)
install(EXPORT taskmpolTargets NAMESPACE taskmpol:: DESTINATION "${taskmpol_package_dir}"
  COMPONENT taskmpol_Development)

# The .pc file finds the prefix from its own directory (share/pkgconfig -> ../..), so it stays
# right after `cmake --install --prefix <dir>` or a move of the tree.
if(IS_ABSOLUTE "${CMAKE_INSTALL_DATADIR}")
  set(taskmpol_pc_prefix "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH taskmpol_pc_prefix "/${CMAKE_INSTALL_DATADIR}/pkgconfig" "/")
  set(taskmpol_pc_prefix "\${pcfiledir}/${taskmpol_pc_prefix}")
endif()
configure_file(cmake/taskmpol.pc.in "${PROJECT_BINARY_DIR}/taskmpol.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/taskmpol.pc" DESTINATION "${CMAKE_INSTALL_DATADIR}/pkgconfig"
  COMPONENT taskmpol_Development)

# Build-tree export, for consumers that point taskmpol_DIR at a build directory.
export(EXPORT taskmpolTargets NAMESPACE taskmpol:: FILE "${PROJECT_BINARY_DIR}/taskmpolTargets.cmake")
