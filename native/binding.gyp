{
  "targets": [
    {
      "target_name": "kiln",
      "sources": [
        "src/addon.cc",
        "src/tensor.cc",
        "src/ops.cc",
        "src/nn_ops.cc",
        "src/distributed.cc",
        "src/optim_ops.cc",
        "src/fused_ops.cc",
        "src/profiler.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node libtorch.cjs include)"
      ],
      "defines": ["NAPI_EXPERIMENTAL", "NODE_ADDON_API_DISABLE_DEPRECATED", "<!@(node libtorch.cjs defines)"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++14"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off", "-Wno-unused-parameter", "<!@(node libtorch.cjs cflags)"],
      "libraries": ["<!@(node libtorch.cjs libs)"]
    }
  ]
}
