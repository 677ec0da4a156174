{
  "targets": [
    {
      "target_name": "ncgpu",
      "sources": [
        "native/addon.cc",
        "native/agop.cc",
        "native/agop_gram.cc",
        "native/cpu_ops.cc",
        "native/huge_pages.cc",
        "native/kernel_solve.cc",
        "native/kernel_solve_addon.cc",
        "native/linalg.cc",
        "native/nn_addon.cc",
        "native/nn_ops.cc",
        "native/stderr_capture.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NAPI_CPP_EXCEPTIONS"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fno-math-errno", "-fno-trapping-math", "-Wall", "-Wextra"],
      "conditions": [
        ["OS=='mac'", {
          "defines": ["NCGPU_BLAS_ACCELERATE=1"],
          "libraries": ["-framework Accelerate"],
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "GCC_ENABLE_CPP_RTTI": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "CLANG_CXX_LIBRARY": "libc++",
            "MACOSX_DEPLOYMENT_TARGET": "11.0",
            "GCC_OPTIMIZATION_LEVEL": "3",
            "OTHER_CPLUSPLUSFLAGS": ["-fno-math-errno", "-fno-trapping-math", "-Wall", "-Wextra"]
          }
        }],
        ["OS=='linux'", {
          "defines": ["NCGPU_BLAS_OPENBLAS=1"],
          "include_dirs": [
            "/usr/include/x86_64-linux-gnu/openblas-pthread",
            "/usr/include/aarch64-linux-gnu/openblas-pthread",
            "/usr/include/openblas"
          ],
          "libraries": ["-lopenblas", "-lpthread"]
        }]
      ]
    }
  ]
}
