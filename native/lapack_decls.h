// ncgpu native addon: declarations of the BLAS/LAPACK entry points it uses.
//
// LAPACK is called through its Fortran symbols (dpotrf_, sgesdd_, ...), which
// OpenBLAS, reference LAPACK and Apple Accelerate all export, so no LAPACKE is
// required. All integers are 32-bit `int` (LP64 interface).
//
// Build-time switches (set by CMakeLists.txt / binding.gyp):
//   NCGPU_BLAS_ACCELERATE  Apple Accelerate: CBLAS prototypes are declared
//                          here instead of including Accelerate.h, whose
//                          clapack.h would clash with the declarations below.
//   NCGPU_BLAS_OPENBLAS    OpenBLAS linked directly: its thread/config API
//                          (openblas_get_config, ...) is available.
//
// Fortran CHARACTER arguments carry a hidden length argument appended after
// the regular ones (gfortran: size_t). Passing it is required for correctness
// with gfortran-built LAPACK and is ignored by f2c-style builds; Accelerate's
// legacy interface does not take it, so it is left out there.
// LAPACK functions that return REAL (slange, slansy) are deliberately not
// used: their return convention differs between gfortran and f2c builds.
#pragma once

#include <cstddef>

#if defined(NCGPU_BLAS_ACCELERATE)

extern "C" {
enum CBLAS_ORDER { CblasRowMajor = 101, CblasColMajor = 102 };
enum CBLAS_TRANSPOSE { CblasNoTrans = 111, CblasTrans = 112, CblasConjTrans = 113 };
enum CBLAS_UPLO { CblasUpper = 121, CblasLower = 122 };
enum CBLAS_SIDE { CblasLeft = 141, CblasRight = 142 };
void cblas_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int m, int n,
                 int k, float alpha, const float* a, int lda, const float* b, int ldb, float beta,
                 float* c, int ldc);
void cblas_dgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int m, int n,
                 int k, double alpha, const double* a, int lda, const double* b, int ldb, double beta,
                 double* c, int ldc);
void cblas_ssyrk(enum CBLAS_ORDER order, enum CBLAS_UPLO uplo, enum CBLAS_TRANSPOSE trans, int n, int k,
                 float alpha, const float* a, int lda, float beta, float* c, int ldc);
void cblas_ssymm(enum CBLAS_ORDER order, enum CBLAS_SIDE side, enum CBLAS_UPLO uplo, int m, int n, float alpha,
                 const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc);
void cblas_dsyrk(enum CBLAS_ORDER order, enum CBLAS_UPLO uplo, enum CBLAS_TRANSPOSE trans, int n, int k,
                 double alpha, const double* a, int lda, double beta, double* c, int ldc);
}
#define NCGPU_LAPACK_HIDDEN_STRLEN 0

#else

#include <cblas.h>
#ifndef NCGPU_LAPACK_HIDDEN_STRLEN
#define NCGPU_LAPACK_HIDDEN_STRLEN 1
#endif

#endif

#if defined(NCGPU_BLAS_OPENBLAS)
extern "C" {
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char* openblas_get_config(void);
}
#endif

#if NCGPU_LAPACK_HIDDEN_STRLEN
#define NCGPU_STRLEN_PARAM , std::size_t
#define NCGPU_STRLEN_ARG , std::size_t{1}
#else
#define NCGPU_STRLEN_PARAM
#define NCGPU_STRLEN_ARG
#endif

extern "C" {
// Cholesky
void spotrf_(const char* uplo, const int* n, float* a, const int* lda, int* info NCGPU_STRLEN_PARAM);
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info NCGPU_STRLEN_PARAM);
void spotrs_(const char* uplo, const int* n, const int* nrhs, const float* a, const int* lda, float* b,
             const int* ldb, int* info NCGPU_STRLEN_PARAM);
void dpotrs_(const char* uplo, const int* n, const int* nrhs, const double* a, const int* lda, double* b,
             const int* ldb, int* info NCGPU_STRLEN_PARAM);
void spocon_(const char* uplo, const int* n, const float* a, const int* lda, const float* anorm, float* rcond,
             float* work, int* iwork, int* info NCGPU_STRLEN_PARAM);
void dpocon_(const char* uplo, const int* n, const double* a, const int* lda, const double* anorm,
             double* rcond, double* work, int* iwork, int* info NCGPU_STRLEN_PARAM);

// LU
void sgetrf_(const int* m, const int* n, float* a, const int* lda, int* ipiv, int* info);
void dgetrf_(const int* m, const int* n, double* a, const int* lda, int* ipiv, int* info);
void sgetrs_(const char* trans, const int* n, const int* nrhs, const float* a, const int* lda, const int* ipiv,
             float* b, const int* ldb, int* info NCGPU_STRLEN_PARAM);
void dgetrs_(const char* trans, const int* n, const int* nrhs, const double* a, const int* lda,
             const int* ipiv, double* b, const int* ldb, int* info NCGPU_STRLEN_PARAM);
void sgecon_(const char* norm, const int* n, const float* a, const int* lda, const float* anorm, float* rcond,
             float* work, int* iwork, int* info NCGPU_STRLEN_PARAM);
void dgecon_(const char* norm, const int* n, const double* a, const int* lda, const double* anorm,
             double* rcond, double* work, int* iwork, int* info NCGPU_STRLEN_PARAM);

// Symmetric eigendecomposition (divide and conquer)
void ssyevd_(const char* jobz, const char* uplo, const int* n, float* a, const int* lda, float* w, float* work,
             const int* lwork, int* iwork, const int* liwork, int* info NCGPU_STRLEN_PARAM NCGPU_STRLEN_PARAM);
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
             double* work, const int* lwork, int* iwork, const int* liwork,
             int* info NCGPU_STRLEN_PARAM NCGPU_STRLEN_PARAM);

// SVD (divide and conquer)
void sgesdd_(const char* jobz, const int* m, const int* n, float* a, const int* lda, float* s, float* u,
             const int* ldu, float* vt, const int* ldvt, float* work, const int* lwork, int* iwork,
             int* info NCGPU_STRLEN_PARAM);
void dgesdd_(const char* jobz, const int* m, const int* n, double* a, const int* lda, double* s, double* u,
             const int* ldu, double* vt, const int* ldvt, double* work, const int* lwork, int* iwork,
             int* info NCGPU_STRLEN_PARAM);

// QR
void sgeqrf_(const int* m, const int* n, float* a, const int* lda, float* tau, float* work, const int* lwork,
             int* info);
void dgeqrf_(const int* m, const int* n, double* a, const int* lda, double* tau, double* work,
             const int* lwork, int* info);
void sorgqr_(const int* m, const int* n, const int* k, float* a, const int* lda, const float* tau, float* work,
             const int* lwork, int* info);
void dorgqr_(const int* m, const int* n, const int* k, double* a, const int* lda, const double* tau,
             double* work, const int* lwork, int* info);
}
