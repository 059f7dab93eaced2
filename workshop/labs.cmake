# workshop/labs.cmake - the lab binaries. For each workshop/labs/NN-name/:
#   apibench-lab-NN            the previous build with the student's solution.c swapped in
#   apibench-lab-NN-reference  the same build with core's reference strategy instead
# (build.c, beside solution.c, says which strategy; students edit solution.c and sql/ only).
file(GLOB LAB_DIRS LIST_DIRECTORIES true CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/labs/[0-9][0-9]-*)
foreach(dir ${LAB_DIRS})
  if(NOT EXISTS ${dir}/build.c)
    continue()
  endif()
  get_filename_component(lab ${dir} NAME)
  string(SUBSTRING ${lab} 0 2 nn)
  add_executable(apibench-lab-${nn} ${dir}/build.c ${dir}/solution.c)
  target_compile_definitions(apibench-lab-${nn} PRIVATE LAB_NAME="lab-${nn}")
  add_executable(apibench-lab-${nn}-reference ${dir}/build.c)
  target_compile_definitions(apibench-lab-${nn}-reference PRIVATE LAB_REFERENCE LAB_NAME="lab-${nn}-reference")
  foreach(t apibench-lab-${nn} apibench-lab-${nn}-reference)
    target_include_directories(${t} PRIVATE ${CMAKE_CURRENT_LIST_DIR})
    target_link_libraries(${t} PRIVATE apibench_core)
  endforeach()
endforeach()

# `apibench lab check` runs scripts/lab-check from this source tree.
target_compile_definitions(apibench_harness PRIVATE APIBENCH_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
