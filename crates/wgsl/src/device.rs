//! Finding a GPU: pick the best adapter wgpu can see and open a device on
//! it, or explain what was found and how to get one.

use minimax_autodiff::{Error, Result};

/// How to get an adapter natively, for the error message.
#[cfg(not(target_arch = "wasm32"))]
const HOW_TO_GET_ONE: &str = "install a GPU driver (Vulkan, Metal or DX12), or a software \
    Vulkan: `apt-get install mesa-vulkan-drivers` provides lavapipe on Debian/Ubuntu; \
    WGPU_BACKEND=gl tries OpenGL instead";

#[cfg(not(target_arch = "wasm32"))]
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

#[cfg(not(target_arch = "wasm32"))]
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

#[cfg(not(target_arch = "wasm32"))]
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

#[cfg(not(target_arch = "wasm32"))]
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
/// backends (or those named by `WGPU_BACKEND`), blocking until it is open.
/// In a browser no thread may block: there it is an error naming
/// [`crate::Wgpu::new_async`].
pub(crate) fn open() -> Result<(wgpu::Device, wgpu::Queue, wgpu::AdapterInfo)> {
    #[cfg(not(target_arch = "wasm32"))]
    return pollster::block_on(open_async());
    #[cfg(target_arch = "wasm32")]
    Err(Error::Device(
        "Wgpu::new: opening a device blocks, which a browser does not allow: use \
         Wgpu::new_async"
            .into(),
    ))
}

/// Opens a device natively: the best adapter of the Vulkan, Metal and DX12
/// backends (or those named by `WGPU_BACKEND`), with its own limits.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) async fn open_async() -> Result<(wgpu::Device, wgpu::Queue, wgpu::AdapterInfo)> {
    let backends = backends()?;
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let mut adapters = instance.enumerate_adapters(backends).await;
    let seen: Vec<String> = adapters.iter().map(|a| describe(&a.get_info())).collect();
    let seen = if seen.is_empty() { "none".to_string() } else { seen.join(", ") };

    adapters.sort_by_key(|a| rank(a.get_info().device_type));
    let Some(adapter) = adapters.into_iter().next() else {
        return Err(Error::Device(format!(
            "no GPU adapter found (backends {backends:?}; adapters seen: {seen}); to get one, \
             {HOW_TO_GET_ONE}"
        )));
    };
    // Ask for the adapter's own limits (not WebGPU's defaults) so that large
    // tensors can be bound when the hardware allows it.
    let limits = adapter.limits();
    request_device(&adapter, limits, &seen, HOW_TO_GET_ONE).await
}

/// Opens a device in a browser: WebGPU's adapter (`navigator.gpu`), with
/// WebGPU's default limits raised to the adapter's only where the kernels
/// gain from it (see [`web_limits`]).
#[cfg(target_arch = "wasm32")]
pub(crate) async fn open_async() -> Result<(wgpu::Device, wgpu::Queue, wgpu::AdapterInfo)> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::BROWSER_WEBGPU,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let options = wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::HighPerformance,
        ..Default::default()
    };
    let adapter = instance.request_adapter(&options).await.map_err(|e| {
        Error::Device(format!(
            "no WebGPU adapter ({e}): this browser has no navigator.gpu, or it gave no \
             adapter; use a browser with WebGPU enabled, or the CPU backend"
        ))
    })?;
    let limits = web_limits(&adapter.limits());
    let seen = describe(&adapter.get_info());
    let how = "use a browser with WebGPU enabled, or the CPU backend";
    request_device(&adapter, limits, &seen, how).await
}

/// The limits asked for in a browser: WebGPU's defaults, which every
/// WebGPU adapter grants, raised to the adapter's own in the three that
/// the kernels use beyond them (buffers per kernel for Adam over several
/// tensors; buffer and binding sizes for large tensors). Asking for all of
/// the adapter's limits works on some browsers and is refused by others.
#[cfg(target_arch = "wasm32")]
fn web_limits(adapter: &wgpu::Limits) -> wgpu::Limits {
    let defaults = wgpu::Limits::default();
    wgpu::Limits {
        max_storage_buffers_per_shader_stage: adapter.max_storage_buffers_per_shader_stage,
        max_storage_buffer_binding_size: adapter.max_storage_buffer_binding_size,
        max_buffer_size: adapter.max_buffer_size,
        ..defaults
    }
}

/// A device and its queue on `adapter`, with `limits`; `seen` names the
/// adapters found and `how` says how to get one, for the error.
async fn request_device(
    adapter: &wgpu::Adapter,
    limits: wgpu::Limits,
    seen: &str,
    how: &str,
) -> Result<(wgpu::Device, wgpu::Queue, wgpu::AdapterInfo)> {
    let info = adapter.get_info();
    let descriptor = wgpu::DeviceDescriptor {
        label: Some("minimax"),
        required_limits: limits,
        ..Default::default()
    };
    let (device, queue) = adapter.request_device(&descriptor).await.map_err(|e| {
        Error::Device(format!(
            "could not open a device on {} ({e}); adapters seen: {seen}; {how}",
            describe(&info)
        ))
    })?;
    Ok((device, queue, info))
}

#[cfg(not(target_arch = "wasm32"))]
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
