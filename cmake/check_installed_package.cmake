# ctest example.installed_package: installs the build into a scratch prefix, builds examples/cpp against it with
# find_package(lsio) (as a consumer would), and runs the example on the demo array.
# cmake -DBUILD_DIR= -DSOURCE_DIR= -DWORK_DIR= -DGENERATOR= -DCXX= -DBUILD_TYPE= -DDEMO= -P check_installed_package.cmake
foreach(var BUILD_DIR SOURCE_DIR WORK_DIR GENERATOR CXX DEMO)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_installed_package.cmake: -D${var}= is required")
  endif()
endforeach()

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}")
  endif()
  set(output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
run("install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
foreach(header lsio/lsio.h lsio/dtype.h lsio/zarr.h)
  if(NOT EXISTS ${WORK_DIR}/prefix/include/${header})
    message(FATAL_ERROR "the installed package lacks include/${header}")
  endif()
endforeach()
run("configure the examples" ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build -G ${GENERATOR}
    -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=${BUILD_TYPE} -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
run("build the examples" ${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run("run the example" ${WORK_DIR}/build/lsio_example_zarr_stats ${DEMO})
if(NOT output MATCHES "max:    1199\n")
  message(FATAL_ERROR "unexpected output of the installed example:\n${output}")
endif()
message(STATUS "installed package OK: find_package(lsio) + lsio::zarr built and ran examples/cpp\n${output}")
