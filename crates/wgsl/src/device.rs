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

/// The names `WGPU_BACKEND` may list, comma-separated, in any case (wgpu's
/// own names for the backends that run natively).
const BACKEND_NAMES: [(&str, wgpu::Backends); 9] = [
    ("vulkan", wgpu::Backends::VULKAN),
    ("vk", wgpu::Backends::VULKAN),
    ("metal", wgpu::Backends::METAL),
    ("mtl", wgpu::Backends::METAL),
    ("dx12", wgpu::Backends::DX12),
    ("d3d12", wgpu::Backends::DX12),
    ("gl", wgpu::Backends::GL),
    ("gles", wgpu::Backends::GL),
    ("opengl", wgpu::Backends::GL),
];

/// The backends a `WGPU_BACKEND` value names, or why it names none. (wgpu's
/// own parser skips a name it does not know, so that a typo left no backend
/// at all and an error about `Backends(0x0)`.) Empty means unset: the
/// primary backends.
fn parse_backends(value: &str) -> std::result::Result<wgpu::Backends, String> {
    if value.trim().is_empty() {
        return Ok(wgpu::Backends::PRIMARY);
    }
    let mut backends = wgpu::Backends::empty();
    for name in value.split(',').map(str::trim) {
        let Some((_, b)) = BACKEND_NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) else {
            let names: Vec<&str> = BACKEND_NAMES.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "WGPU_BACKEND={value:?}: unknown backend `{name}`; accepted (comma-separated, \
                 any case): {}",
                names.join(", ")
            ));
        };
        backends |= *b;
    }
    Ok(backends)
}

/// The backends to look for adapters on: those `WGPU_BACKEND` names, or
/// Vulkan, Metal and DX12.
fn backends() -> Result<wgpu::Backends> {
    match std::env::var("WGPU_BACKEND") {
        Ok(value) => parse_backends(&value).map_err(Error::Device),
        Err(std::env::VarError::NotPresent) => Ok(wgpu::Backends::PRIMARY),
        Err(e) => Err(Error::Device(format!("WGPU_BACKEND: {e}"))),
    }
}

/// Opens a device on the best adapter of the Vulkan, Metal and DX12
/// backends (or those named by `WGPU_BACKEND`).
pub(crate) fn open() -> Result<(wgpu::Device, wgpu::Queue, wgpu::AdapterInfo)> {
    let backends = backends()?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_names_are_parsed_or_refused_by_name() {
        assert_eq!(parse_backends("gl"), Ok(wgpu::Backends::GL));
        assert_eq!(
            parse_backends(" Vulkan , GL "),
            Ok(wgpu::Backends::VULKAN | wgpu::Backends::GL)
        );
        assert_eq!(parse_backends(""), Ok(wgpu::Backends::PRIMARY));
        let err = parse_backends("vulkan,bogus").unwrap_err();
        assert!(err.contains("`bogus`") && err.contains("vulkan, vk, metal"), "{err}");
    }
}
