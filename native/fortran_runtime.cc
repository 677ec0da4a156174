// The one GNU Fortran runtime routine the statically linked OpenBLAS needs (NCGPU_STATIC_BLAS).
//
// OpenBLAS's LAPACK is Fortran compiled by gfortran; the routines ncgpu calls reach the runtime
// only through string concatenation (option strings passed to ILAENV, e.g. SIDE // TRANS).
// libgfortran.a cannot go into a shared object (its I/O units use initial-exec TLS), and
// linking libgfortran.so would make the prebuilt binary depend on it again, so the addon defines
// the routine itself. (LAPACK's SECOND/DSECND timers also use the runtime; ncgpu never calls
// them, so the linker leaves them out.)
#include <cstddef>
#include <cstring>

// Fortran CHARACTER concatenation into a fixed-length destination: dest = s1 // s2, truncated
// to destlen or padded with blanks (gfortran's calling convention since GCC 8: lengths are
// size_t and come before their strings).
extern "C" void _gfortran_concat_string(std::size_t destlen, char* dest, std::size_t len1, const char* s1,
                                        std::size_t len2, const char* s2) {
  const std::size_t first = len1 < destlen ? len1 : destlen;
  std::memmove(dest, s1, first);
  const std::size_t second = len2 < destlen - first ? len2 : destlen - first;
  std::memmove(dest + first, s2, second);
  std::memset(dest + first + second, ' ', destlen - first - second);
}
