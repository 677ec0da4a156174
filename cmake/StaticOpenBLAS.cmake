# Static OpenBLAS for the self-contained prebuilt addon (NCGPU_STATIC_BLAS=ON).
#
# Debian's libopenblas.a is built with DYNAMIC_ARCH, so the kernels for every CPU family come
# along and OPENBLAS_CORETYPE keeps working (ncgpu sets it before the addon loads). Its LAPACK
# needs one routine of the GNU Fortran runtime, which native/fortran_runtime.cc provides, so the
# binary depends on no libgfortran either. --exclude-libs keeps OpenBLAS's symbols private to
# the addon: a host process that loads another BLAS (numpy, another addon) sees no clash.
# libstdc++ stays shared: linking it in would raise the glibc the binary needs (2.34 -> 2.36).
function(ncgpu_link_static_openblas target cblas_include_dir)
  set(_arch_lib "/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}")
  find_library(NCGPU_OPENBLAS_STATIC_LIBRARY
    NAMES libopenblas.a
    HINTS "${_arch_lib}/openblas-pthread" "${_arch_lib}/openblas-openmp" "${_arch_lib}/openblas-serial"
          /usr/lib64 /usr/lib /usr/local/lib /opt/OpenBLAS/lib $ENV{OpenBLAS_HOME}/lib $ENV{OPENBLAS_HOME}/lib)
  if(NOT NCGPU_OPENBLAS_STATIC_LIBRARY OR NOT cblas_include_dir)
    message(FATAL_ERROR " ncgpu: NCGPU_STATIC_BLAS needs libopenblas.a and cblas.h: 'apt-get install -y libopenblas-dev'")
  endif()
  target_include_directories(${target} PRIVATE "${cblas_include_dir}")
  target_sources(${target} PRIVATE "${CMAKE_CURRENT_SOURCE_DIR}/native/fortran_runtime.cc")
  target_link_libraries(${target} PRIVATE "${NCGPU_OPENBLAS_STATIC_LIBRARY}" m)
  target_link_options(${target} PRIVATE "LINKER:--exclude-libs,ALL")
  target_compile_definitions(${target} PRIVATE NCGPU_BLAS_OPENBLAS=1 NCGPU_BLAS_STATIC=1)
  set(NCGPU_BLAS_KIND "OpenBLAS, static (${NCGPU_OPENBLAS_STATIC_LIBRARY})" PARENT_SCOPE)
endfunction()
