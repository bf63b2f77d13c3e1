//! # Example 02: one kernel on the GPU, through raw wgpu
//!
//! Run it with `cargo run --release --example 02_hello_compute`.
//!
//! A GPU does not run a program the way a CPU does. The host (this
//! program) writes a small function in WGSL, the *kernel*, that computes
//! one element of the answer; hands the device the kernel and the buffers
//! it reads and writes; and asks for the function to run once per element,
//! thousands of times side by side. Then it waits, and copies the answer
//! back. Every kernel of `minimax-wgsl` is this pattern, wrapped.
//!
//! Here the kernel is `y[i] = tanh(x[i])` (the activation of the neuron in
//! `01_autodiff`) on a vector of 1,000 numbers, written with wgpu alone, no
//! `minimax` types, in the order a GPU needs it:
//!
//! 1. an *instance* (wgpu's entry point), an *adapter* (one physical GPU,
//!    or a software one such as Mesa's lavapipe), and on it a *device* (our
//!    connection, which creates things) and its *queue* (which runs them);
//! 2. *buffers* in the GPU's memory: `x` (input), `y` (output), and a
//!    *staging* buffer the host may map and read;
//! 3. the *shader* (WGSL source, compiled by the driver) and a *pipeline*:
//!    the kernel plus the *layout* of the buffers it expects;
//! 4. a *bind group*: which buffers go into which of the layout's slots;
//! 5. a *command encoder*, in which we record a *compute pass* (set the
//!    pipeline, bind the buffers, *dispatch* enough workgroups to cover
//!    every element) and a copy of `y` into the staging buffer;
//! 6. *submit* the commands, *map* the staging buffer, wait, and read.
//!
//! Nothing runs until step 6: everything before it only describes work.
//! That is why `minimax-wgsl` records a whole training step before it
//! submits it (one pass, one submit), and why reading a value back, which
//! waits for the device, is what a training step avoids.
//!
//! Then check the answer against the CPU's `tanh`. Without a GPU adapter
//! the example prints one line saying so and exits successfully, unless
//! `MINIMAX_REQUIRE_GPU=1`, when a missing adapter is a failure.
//!
//! After this file, `crates/wgsl` adds what a real engine needs on top:
//! a pool that recycles buffers, an arena for the small uniform parameters,
//! a cache of bind groups, and one pipeline per kernel, built once.

use std::process::ExitCode;
use std::sync::mpsc;
use wgpu::util::DeviceExt;

/// How many numbers the kernel maps.
const N: usize = 1000;

/// Invocations per workgroup: the `@workgroup_size` in [`SHADER`]. The
/// device runs invocations in groups of this size; we dispatch
/// `ceil(N / 64)` groups, so the last group has invocations past the end
/// of the vector, and the kernel must skip them.
const WORKGROUP_SIZE: u32 = 64;

/// How far the GPU's `tanh` may be from the CPU's. WGSL does not promise
/// the same bits as Rust's `f32::tanh` (each driver has its own `tanh`),
/// only an answer close to it, so results are compared with a tolerance.
const TOLERANCE: f32 = 1e-5;

/// The kernel, in WGSL. One invocation computes one element.
const SHADER: &str = r#"
// hello_compute: y[i] = tanh(x[i]) for every i < arrayLength(&x).
//
// Bindings (group 0):
//   0  x   read        [n]  the input
//   1  y   read_write  [n]  the output

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;

// 64 invocations per workgroup; the host dispatches ceil(n / 64) groups.
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    // The last workgroup runs past the end of the vector: those
    // invocations do nothing.
    if (i >= arrayLength(&x)) {
        return;
    }
    y[i] = tanh(x[i]);
}
"#;

fn main() -> ExitCode {
    // The input: N points evenly spread over [-3, 3].
    let x: Vec<f32> = (0..N).map(|i| -3.0 + 6.0 * i as f32 / (N - 1) as f32).collect();

    // 1. Instance, adapter, device and queue. `from_env` lets `WGPU_BACKEND`
    //    choose a backend (`vulkan`, `gl`, …); without it wgpu looks on all of
    //    them and `request_adapter` picks the best GPU it finds, a software
    //    one last.
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter =
        match pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions::default()))
        {
            Ok(adapter) => adapter,
            Err(e) => return no_adapter(e),
        };
    println!("adapter: {} ({:?})", adapter.get_info().name, adapter.get_info().backend);
    let (device, queue) =
        pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor::default()))
            .expect("the adapter opens a device");

    let y = match run(&device, &queue, &x) {
        Ok(y) => y,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };

    // Check every element against the CPU.
    let worst = x.iter().zip(&y).map(|(&x, &y)| (y - x.tanh()).abs()).fold(0.0, f32::max);
    for i in [0, N / 4, N / 2, 3 * N / 4, N - 1] {
        println!("tanh({:+.4}) = {:+.7} (CPU {:+.7})", x[i], y[i], x[i].tanh());
    }
    println!(
        "{N} elements, largest difference from the CPU: {worst:.2e} (tolerance {TOLERANCE:e})"
    );
    if worst <= TOLERANCE {
        ExitCode::SUCCESS
    } else {
        eprintln!("error: the GPU's tanh is further than {TOLERANCE:e} from the CPU's");
        ExitCode::FAILURE
    }
}

/// Runs the kernel on `x` and returns `y`: steps 2 to 6.
fn run(device: &wgpu::Device, queue: &wgpu::Queue, x: &[f32]) -> Result<Vec<f32>, String> {
    let bytes = std::mem::size_of_val(x) as wgpu::BufferAddress;

    // 2. Buffers. `x` is created with its contents (uploaded by the queue
    //    before any command runs). `y` only needs to be the right size. The
    //    shader may read and write STORAGE buffers, but the host cannot map
    //    them; a buffer the host maps (MAP_READ) can only be copied into
    //    (COPY_DST). Hence the staging buffer, and the copy in step 5.
    let x_buffer = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("x"),
        contents: &x.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>(),
        usage: wgpu::BufferUsages::STORAGE,
    });
    let y_buffer = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("y"),
        size: bytes,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let staging = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("staging"),
        size: bytes,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });

    // 3. The shader and the pipeline. The bind group layout says what the
    //    kernel expects in each binding, matching the shader's declarations:
    //    binding 0 a storage buffer it only reads, binding 1 one it writes.
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("hello_compute"),
        source: wgpu::ShaderSource::Wgsl(SHADER.into()),
    });
    let storage = |binding, read_only| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    };
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("x, y"),
        entries: &[storage(0, true), storage(1, false)],
    });
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some("hello_compute"),
        bind_group_layouts: &[Some(&layout)],
        immediate_size: 0,
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("hello_compute"),
        layout: Some(&pipeline_layout),
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });

    // 4. The bind group: these buffers, in those slots.
    let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("x, y"),
        layout: &layout,
        entries: &[
            wgpu::BindGroupEntry { binding: 0, resource: x_buffer.as_entire_binding() },
            wgpu::BindGroupEntry { binding: 1, resource: y_buffer.as_entire_binding() },
        ],
    });

    // 5. Record the commands: a compute pass with one dispatch of enough
    //    workgroups to cover every element, then the copy to the staging
    //    buffer (outside the pass: a pass holds only dispatches).
    let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups((x.len() as u32).div_ceil(WORKGROUP_SIZE), 1, 1);
    } // the pass ends when it is dropped
    encoder.copy_buffer_to_buffer(&y_buffer, 0, &staging, 0, bytes);

    // 6. Submit, map, wait, read. `map_async` only asks: its callback runs
    //    once the device has finished the commands before it, during a
    //    `poll` that waits for them.
    queue.submit([encoder.finish()]);
    let (tx, rx) = mpsc::channel();
    staging.map_async(wgpu::MapMode::Read, .., move |result| {
        let _ = tx.send(result);
    });
    device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| format!("waiting: {e}"))?;
    rx.recv().map_err(|e| e.to_string())?.map_err(|e| format!("mapping: {e}"))?;
    let y = {
        let view = staging.get_mapped_range(..).map_err(|e| format!("reading: {e}"))?;
        view.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()
    }; // the view is dropped before the buffer is unmapped
    staging.unmap();
    Ok(y)
}

/// No adapter: say so in one line and succeed, unless `MINIMAX_REQUIRE_GPU`
/// asks for a GPU (`1`, `true` or `yes`, as for the GPU tests).
fn no_adapter(e: wgpu::RequestAdapterError) -> ExitCode {
    let required = std::env::var("MINIMAX_REQUIRE_GPU")
        .is_ok_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"));
    if required {
        eprintln!("error: MINIMAX_REQUIRE_GPU is set but there is no GPU adapter ({e})");
        ExitCode::FAILURE
    } else {
        println!("no GPU adapter ({e}); skipped (apt-get install mesa-vulkan-drivers gives one)");
        ExitCode::SUCCESS
    }
}
