# ctest fixture of the packaging tests: installs the build tree into a fresh prefix.
#   cmake -DBUILD_DIR=<build tree> -DPREFIX=<prefix> -DINCLUDEDIR=include -DCMAKEDIR=share/cmake/rescan
#         [-DCONFIG=<config>] -P install.cmake
foreach(variable IN ITEMS BUILD_DIR PREFIX INCLUDEDIR CMAKEDIR)
  if(NOT ${variable})
    message(FATAL_ERROR "install.cmake: -D${variable}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE "${PREFIX}")
set(config_args)
if(CONFIG)
  set(config_args --config "${CONFIG}")
endif()
execute_process(
  COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}" ${config_args}
  RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "install.cmake: cmake --install ${BUILD_DIR} failed (${result})")
endif()

foreach(file IN ITEMS "${INCLUDEDIR}/rescan/rescan.hpp" "${INCLUDEDIR}/rescan/version.hpp"
                      "${CMAKEDIR}/rescanConfig.cmake" "${CMAKEDIR}/rescanConfigVersion.cmake"
                      "${CMAKEDIR}/rescanTargets.cmake")
  if(NOT EXISTS "${PREFIX}/${file}")
    message(FATAL_ERROR "install.cmake: ${PREFIX}/${file} was not installed")
  endif()
endforeach()
message(STATUS "rescan installed into ${PREFIX}")
