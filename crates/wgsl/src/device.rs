//! Finding a GPU: pick the best adapter wgpu can see and open a device on
//! it, or explain what was found and how to get one.

use minimax_autodiff::{Error, Result};

/// How to get an adapter, for the error message.
const HOW_TO_GET_ONE: &str = "install a GPU driver (Vulkan, Metal or DX12), or a software \
    Vulkan: `apt-get install mesa-vulkan-drivers` provides lavapipe on Debian/Ubuntu; \
    WGPU_BACKEND=gl tries OpenGL instead";

/// Preference order: a discrete GPU, then an integrated one, then anything
/// else, a software rasterizer (lavapipe, llvmpipe) last.
fn rank(device_type: wgpu::DeviceType) -> u8 {
    match device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

/// `"name (Backend)"`, e.g. `"llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan)"`.
pub(crate) fn describe(info: &wgpu::AdapterInfo) -> String {
    format!("{} ({:?})", info.name, info.backend)
}

/// Opens a device on the best adapter of the Vulkan, Metal and DX12
/// backends (or those named by `WGPU_BACKEND`).
pub(crate) fn open() -> Result<(wgpu::Device, wgpu::Queue, wgpu::AdapterInfo)> {
    let backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY);
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let mut adapters = pollster::block_on(instance.enumerate_adapters(backends));
    let seen: Vec<String> = adapters.iter().map(|a| describe(&a.get_info())).collect();
    let seen = if seen.is_empty() { "none".to_string() } else { seen.join(", ") };

    adapters.sort_by_key(|a| rank(a.get_info().device_type));
    let Some(adapter) = adapters.into_iter().next() else {
        return Err(Error::Device(format!(
            "no GPU adapter found (backends {backends:?}; adapters seen: {seen}); to get one, \
             {HOW_TO_GET_ONE}"
        )));
    };
    let info = adapter.get_info();
    // Ask for the adapter's own limits (not WebGPU's defaults) so that large
    // tensors can be bound when the hardware allows it.
    let descriptor = wgpu::DeviceDescriptor {
        label: Some("minimax"),
        required_limits: adapter.limits(),
        ..Default::default()
    };
    let (device, queue) = pollster::block_on(adapter.request_device(&descriptor)).map_err(|e| {
        Error::Device(format!(
            "could not open a device on {} ({e}); adapters seen: {seen}; {HOW_TO_GET_ONE}",
            describe(&info)
        ))
    })?;
    Ok((device, queue, info))
}
