# ctest example.installed_package: installs the build into a scratch prefix, builds examples/cpp against it with
# find_package(lsio) (as a consumer would), and runs the examples: zarr_stats on the demo array and, with
# -DGRIB_FILE= (LSIO built with ecCodes), grib_info on that GRIB2 file.
# cmake -DBUILD_DIR= -DSOURCE_DIR= -DWORK_DIR= -DGENERATOR= -DCXX= -DBUILD_TYPE= -DDEMO= [-DGRIB_FILE=]
#       -P check_installed_package.cmake
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
set(zarr_output "${output}")
set(grib_output "")
if(DEFINED GRIB_FILE)
  if(NOT EXISTS ${WORK_DIR}/prefix/include/lsio/grib.h)
    message(FATAL_ERROR "the installed package lacks include/lsio/grib.h")
  endif()
  run("run the GRIB example" ${WORK_DIR}/build/lsio_example_grib_info ${GRIB_FILE})
  if(NOT output MATCHES "^messages: 1\n0 26948 t surface 0 0 grid_simple 13280 209.535 316.901 287.118\n$")
    message(FATAL_ERROR "unexpected output of the installed GRIB example:\n${output}")
  endif()
  set(grib_output "${output}")
endif()
message(STATUS "installed package OK: find_package(lsio) + lsio::zarr (+ lsio::grib) built and ran examples/cpp\n"
               "${zarr_output}${grib_output}")
