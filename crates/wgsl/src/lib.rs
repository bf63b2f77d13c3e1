//! WGSL kernels (work in progress).
