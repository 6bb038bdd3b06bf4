//! The wgpu context: device, queue and compute pipelines, built once and
//! reused by every kernel call.
//!
//! WebGPU in the browser (wasm32), the native backends elsewhere (chosen by
//! `WGPU_BACKEND`, default all). Every failure (no adapter, a validation or
//! out-of-memory error, a lost device, data that does not fit the device's
//! limits) comes back as an [`ErrorKind::Gpu`] error so that the caller can
//! run the CPU reference instead; nothing here panics on a GPU problem.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::reference::prepare;
use super::{KnnGraph, Metric};
use crate::error::{Error, ErrorKind, Result};

/// Rows of queries per workgroup (the kernel's `QUERY_TILE`, its workgroup size).
const QUERY_TILE: u64 = 64;

/// Candidate rows per tile of the kernel (`CANDIDATE_TILE`).
const CANDIDATE_TILE: u64 = 32;

/// Values of a row per chunk of the kernel (`CHUNK_VEC4` vec4s).
const CHUNK_VALUES: u64 = 16;

/// Multiply-adds one dispatch may do. Long dispatches trip the GPU watchdog
/// of browsers and operating systems (which then loses the device), so the
/// work is split into dispatches of about this much, each in its own
/// submission.
const MULTIPLY_ADDS_PER_DISPATCH: u64 = 1 << 32;

/// Loop iterations one invocation may run in one dispatch. Lavapipe (Mesa's
/// CPU Vulkan driver, what CI and GPU-less machines get) silently stops an
/// invocation after 65535 loop iterations; half of that leaves a margin.
const LOOP_ITERATIONS_PER_DISPATCH: u64 = 32_768;

/// Size of the kernel's `Params` uniform.
const PARAMS_BYTES: u64 = 48;

/// The kernel's `Params`, one per dispatch.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    row_vec4: u32,
    k: u32,
    metric: u32,
    query_offset: u32,
    query_count: u32,
    candidate_start: u32,
    candidate_end: u32,
    infinity: f32,
    pad: [u32; 3],
}

/// One dispatch of the kNN kernel: a range of queries against a range of
/// candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Dispatch {
    query_offset: u64,
    query_count: u64,
    candidate_start: u64,
    candidate_end: u64,
}

/// Worst-case loop iterations of one invocation per candidate tile, as the
/// kernel's loops run: the tile loop, per chunk the chunk loop and its 8
/// dot groups, the candidate loop, and an insertion of up to k steps for
/// every candidate.
fn loop_iterations_per_tile(row_vec4: u64, k: u64) -> u64 {
    let chunks = (row_vec4 * 4).div_ceil(CHUNK_VALUES);
    1 + chunks * (1 + 8) + CANDIDATE_TILE * (1 + k)
}

/// Splits `n` queries x `n` candidates into dispatches: candidate ranges of
/// whole tiles, at most [`LOOP_ITERATIONS_PER_DISPATCH`] loop iterations and
/// `work_per_dispatch` multiply-adds each, query ranges of at most
/// `max_groups` workgroups. Query range outer, candidate ranges in order
/// inner (each merges into the previous one's result). `None` when a single
/// tile is over the loop budget (rows of tens of thousands of values).
fn plan_dispatches(
    n: u64,
    row_vec4: u64,
    k: u64,
    work_per_dispatch: u64,
    max_groups: u64,
) -> Option<Vec<Dispatch>> {
    let fixed = 2 * k + 8; // loading and storing the k best
    let per_tile = loop_iterations_per_tile(row_vec4, k);
    let tiles_by_loops = LOOP_ITERATIONS_PER_DISPATCH.checked_sub(fixed)? / per_tile;
    if tiles_by_loops == 0 {
        return None;
    }
    let row_values = row_vec4 * 4;
    let tiles_by_work = work_per_dispatch / (QUERY_TILE * CANDIDATE_TILE * row_values).max(1);
    let candidates_per_dispatch = tiles_by_loops.min(tiles_by_work.max(1)) * CANDIDATE_TILE;
    let groups_by_work =
        work_per_dispatch / (QUERY_TILE * candidates_per_dispatch * row_values).max(1);
    let queries_per_dispatch = groups_by_work.clamp(1, max_groups.max(1)) * QUERY_TILE;

    let mut dispatches = Vec::new();
    for query_offset in (0..n).step_by(queries_per_dispatch as usize) {
        for candidate_start in (0..n).step_by(candidates_per_dispatch as usize) {
            dispatches.push(Dispatch {
                query_offset,
                query_count: queries_per_dispatch.min(n - query_offset),
                candidate_start,
                candidate_end: (candidate_start + candidates_per_dispatch).min(n),
            });
        }
    }
    Some(dispatches)
}

const READ_ONLY: wgpu::BufferBindingType = wgpu::BufferBindingType::Storage { read_only: true };
const READ_WRITE: wgpu::BufferBindingType = wgpu::BufferBindingType::Storage { read_only: false };

/// A GPU device with the kNN pipeline, built once (see [`GpuContext::new`]).
pub struct GpuContext {
    device: wgpu::Device,
    queue: wgpu::Queue,
    adapter_info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
    knn_pipeline: wgpu::ComputePipeline,
    knn_layout: wgpu::BindGroupLayout,
    /// Multiply-adds one dispatch may do (see [`MULTIPLY_ADDS_PER_DISPATCH`]).
    work_per_dispatch: u64,
    /// Set by the device-lost callback; every later call fails.
    lost: Arc<AtomicBool>,
    /// The last error no error scope caught (wgpu would otherwise panic).
    uncaptured: Arc<Mutex<Option<String>>>,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext")
            .field("adapter", &self.adapter_info.name)
            .field("backend", &self.adapter_info.backend)
            .field("lost", &self.is_lost())
            .finish_non_exhaustive()
    }
}

impl GpuContext {
    /// Largest `k` the GPU kernel keeps in registers; [`GpuContext::knn`]
    /// returns an error above it (run [`crate::gpu::knn_cpu`] instead).
    pub const MAX_K: usize = 32;

    /// Finds an adapter, opens a device with the adapter's own limits and
    /// builds the pipelines.
    ///
    /// Natively the backends come from `WGPU_BACKEND` (e.g. `vulkan`;
    /// default: all), on wasm32 it is the browser's WebGPU. Fails with
    /// [`ErrorKind::Gpu`] when there is no adapter or the device cannot be
    /// opened.
    pub async fn new() -> Result<GpuContext> {
        #[cfg(not(target_arch = "wasm32"))]
        let backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::all());
        #[cfg(target_arch = "wasm32")]
        let backends = wgpu::Backends::BROWSER_WEBGPU;
        // Without `navigator.gpu` (an old browser, or a context other than
        // a page or dedicated worker) `Instance::new` would panic.
        #[cfg(target_arch = "wasm32")]
        if !wgpu::util::is_browser_webgpu_supported().await {
            return Err(gpu_error(
                "no GPU adapter: this browser offers no WebGPU here",
            ));
        }

        let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
        descriptor.backends = backends;
        let instance = wgpu::Instance::new(descriptor);
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::from_env()
                    .unwrap_or(wgpu::PowerPreference::HighPerformance),
                ..Default::default()
            })
            .await
            .map_err(|e| gpu_error(format!("no GPU adapter ({backends:?}): {e}")))?;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("preflight"),
                required_features: wgpu::Features::empty(),
                // The adapter's own limits, not WebGPU's defaults: bigger
                // buffers mean fewer data sets fall back to the CPU.
                required_limits: adapter.limits(),
                ..Default::default()
            })
            .await
            .map_err(|e| gpu_error(format!("cannot open the GPU device: {e}")))?;
        GpuContext::from_device(adapter.get_info(), device, queue).await
    }

    /// Builds the pipelines on a device the caller already has (a host
    /// page's device, a test's device). Installs a device-lost callback and
    /// an uncaptured-error handler on it (errors then fail the next call
    /// instead of panicking).
    pub async fn from_device(
        adapter_info: wgpu::AdapterInfo,
        device: wgpu::Device,
        queue: wgpu::Queue,
    ) -> Result<GpuContext> {
        let lost = Arc::new(AtomicBool::new(false));
        let lost_flag = Arc::clone(&lost);
        device.set_device_lost_callback(move |_reason, _message| {
            lost_flag.store(true, Ordering::SeqCst);
        });
        let uncaptured = Arc::new(Mutex::new(None));
        let uncaptured_slot = Arc::clone(&uncaptured);
        device.on_uncaptured_error(Arc::new(move |error: wgpu::Error| {
            if let Ok(mut slot) = uncaptured_slot.lock() {
                *slot = Some(error.to_string());
            }
        }));

        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("knn.wgsl"),
            source: wgpu::ShaderSource::Wgsl(include_str!("../../shaders/knn.wgsl").into()),
        });
        let knn_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("knn"),
            entries: &[
                layout_entry(0, wgpu::BufferBindingType::Uniform, true),
                layout_entry(1, READ_ONLY, false),  // rows
                layout_entry(2, READ_ONLY, false),  // squared norms
                layout_entry(3, READ_WRITE, false), // neighbour indices
                layout_entry(4, READ_WRITE, false), // neighbour distances
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("knn"),
            bind_group_layouts: &[Some(&knn_layout)],
            immediate_size: 0,
        });
        let knn_pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("knn"),
            layout: Some(&pipeline_layout),
            module: &module,
            entry_point: Some("knn"),
            compilation_options: Default::default(),
            cache: None,
        });
        if let Some(error) = scope.pop().await {
            return Err(gpu_error(format!("cannot build the kNN pipeline: {error}")));
        }

        let limits = device.limits();
        Ok(GpuContext {
            device,
            queue,
            adapter_info,
            limits,
            knn_pipeline,
            knn_layout,
            work_per_dispatch: MULTIPLY_ADDS_PER_DISPATCH,
            lost,
            uncaptured,
        })
    }

    /// The adapter's name, e.g. "NVIDIA GeForce RTX 3060" or "llvmpipe".
    pub fn adapter_name(&self) -> String {
        self.adapter_info.name.clone()
    }

    /// Everything wgpu says about the adapter (backend, vendor, driver).
    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.adapter_info
    }

    /// Whether the adapter is a CPU implementation (lavapipe's "llvmpipe",
    /// WARP, SwiftShader where the browser says so). It gives the same
    /// answers, usually slower than [`crate::gpu::knn_cpu`]: an "auto"
    /// backend choice should prefer the CPU path then.
    pub fn is_cpu_adapter(&self) -> bool {
        self.adapter_info.device_type == wgpu::DeviceType::Cpu
    }

    /// The limits the device was opened with (the adapter's own).
    pub fn limits(&self) -> &wgpu::Limits {
        &self.limits
    }

    /// The device, for callers that build their own kernels on it.
    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// The device's queue.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// Sets how many multiply-adds one dispatch may do (default 2^32): lower
    /// it for a weak GPU whose watchdog fires, raise it to save submissions.
    /// A dispatch always covers at least one workgroup of queries and one
    /// tile of candidates.
    pub fn set_work_per_dispatch(&mut self, multiply_adds: u64) {
        self.work_per_dispatch = multiply_adds.max(1);
    }

    /// Whether the device was lost; every later call then fails.
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Exact kNN graph on the GPU, the same contract and the same answer
    /// (within float tolerance) as [`crate::gpu::knn_cpu`].
    ///
    /// Fails with [`ErrorKind::Gpu`] when `min(k, n - 1)` exceeds
    /// [`GpuContext::MAX_K`], when the data or the output does not fit the
    /// device's buffer limits, or on any device error; the caller then runs
    /// the CPU reference. Fails with [`ErrorKind::InvalidOption`] when
    /// `data.len() != n * d`.
    pub async fn knn(
        &self,
        data: &[f32],
        n: usize,
        d: usize,
        k: usize,
        metric: Metric,
    ) -> Result<KnnGraph> {
        self.check_health()?;
        if data.len() != n.saturating_mul(d) {
            return Err(Error::new(
                ErrorKind::InvalidOption,
                format!("kNN: {} values given for {n} rows of {d}", data.len()),
            ));
        }
        let k = k.min(n.saturating_sub(1));
        if k == 0 {
            return Ok(KnnGraph {
                n,
                k: 0,
                indices: Vec::new(),
                distances: Vec::new(),
            });
        }
        if k > Self::MAX_K {
            return Err(gpu_error(format!(
                "kNN: k = {k} is above the GPU kernel's {}",
                Self::MAX_K
            )));
        }
        let n32 =
            u32::try_from(n).map_err(|_| gpu_error(format!("kNN: {n} rows do not fit in u32")))?;

        // Rows padded to whole vec4s with zeros (no effect on dots or norms).
        let row_vec4 = d.div_ceil(4).max(1);
        let rows_bytes = (n as u64) * (row_vec4 as u64) * 16;
        let out_bytes = (n as u64) * (k as u64) * 4;
        let binding_limit = self
            .limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size);
        if rows_bytes > binding_limit
            || out_bytes > binding_limit
            || 2 * out_bytes > self.limits.max_buffer_size
        {
            return Err(gpu_error(format!(
                "kNN: {n} x {d} does not fit the GPU's buffer limit of {binding_limit} bytes"
            )));
        }

        let (rows, mut norms) = prepare(data, n, d, metric);
        let rows = &rows[..];
        if norms.is_empty() {
            norms.push(0.0); // cosine reads no norms, but a binding cannot be empty
        }
        let padded;
        let rows = if d == row_vec4 * 4 {
            rows
        } else {
            padded = pad_rows(rows, n, d, row_vec4 * 4);
            &padded[..]
        };

        // Split the work so that no dispatch exceeds the workgroup limit per
        // dimension (beyond it wgpu silently does nothing), the work budget
        // or the loop budget of one dispatch.
        let max_groups = u64::from(self.limits.max_compute_workgroups_per_dimension.min(65_535));
        let dispatches = plan_dispatches(
            n as u64,
            row_vec4 as u64,
            k as u64,
            self.work_per_dispatch,
            max_groups,
        )
        .ok_or_else(|| {
            gpu_error(format!(
                "kNN: rows of {d} values are too long for the GPU kernel"
            ))
        })?;
        let params_stride = PARAMS_BYTES
            .next_multiple_of(u64::from(self.limits.min_uniform_buffer_offset_alignment));
        let params: Vec<u8> = dispatches
            .iter()
            .flat_map(|dispatch| {
                let value = Params {
                    n: n32,
                    row_vec4: row_vec4 as u32,
                    k: k as u32,
                    metric: match metric {
                        Metric::Cosine => 0,
                        Metric::SquaredEuclidean => 1,
                    },
                    query_offset: dispatch.query_offset as u32,
                    query_count: dispatch.query_count as u32,
                    candidate_start: dispatch.candidate_start as u32,
                    candidate_end: dispatch.candidate_end as u32,
                    infinity: f32::INFINITY,
                    pad: [0; 3],
                };
                let mut bytes = bytemuck::bytes_of(&value).to_vec();
                bytes.resize(params_stride as usize, 0);
                bytes
            })
            .collect();

        let device = &self.device;
        let out_of_memory = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);

        let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
        let params_buffer = self.upload(
            "knn params",
            &params,
            wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        );
        let rows_buffer = self.upload("knn rows", bytemuck::cast_slice(rows), storage);
        let norms_buffer = self.upload("knn norms", bytemuck::cast_slice(&norms), storage);
        let output = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC;
        let indices_buffer = self.buffer("knn indices", out_bytes, output);
        let distances_buffer = self.buffer("knn distances", out_bytes, output);
        let readback = self.buffer(
            "knn readback",
            2 * out_bytes,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );

        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("knn"),
            layout: &self.knn_layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &params_buffer,
                        offset: 0,
                        size: wgpu::BufferSize::new(PARAMS_BYTES),
                    }),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: rows_buffer.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: norms_buffer.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: indices_buffer.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 4,
                    resource: distances_buffer.as_entire_binding(),
                },
            ],
        });

        // One submission per dispatch (see MULTIPLY_ADDS_PER_DISPATCH), the
        // copy to the readback buffer in the last one.
        for (i, dispatch) in dispatches.iter().enumerate() {
            let mut encoder = device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("knn") });
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("knn"),
                    timestamp_writes: None,
                });
                pass.set_pipeline(&self.knn_pipeline);
                pass.set_bind_group(0, &bind_group, &[(i as u64 * params_stride) as u32]);
                pass.dispatch_workgroups(dispatch.query_count.div_ceil(QUERY_TILE) as u32, 1, 1);
            }
            if i + 1 == dispatches.len() {
                encoder.copy_buffer_to_buffer(&indices_buffer, 0, &readback, 0, out_bytes);
                encoder.copy_buffer_to_buffer(
                    &distances_buffer,
                    0,
                    &readback,
                    out_bytes,
                    out_bytes,
                );
            }
            self.queue.submit([encoder.finish()]);
        }

        // Scopes pop in reverse order of their push.
        let validation_error = validation.pop().await;
        let out_of_memory_error = out_of_memory.pop().await;
        if let Some(error) = validation_error.or(out_of_memory_error) {
            return Err(gpu_error(format!("kNN on the GPU failed: {error}")));
        }

        let bytes = self.read_back(&readback).await?;
        let (index_bytes, distance_bytes) = bytes.split_at(out_bytes as usize);
        let indices: Vec<u32> = bytemuck::pod_collect_to_vec(index_bytes);
        let distances: Vec<f32> = bytemuck::pod_collect_to_vec(distance_bytes);
        self.check_health()?;
        Ok(KnnGraph {
            n,
            k,
            indices,
            distances,
        })
    }

    /// Fails when the device was lost or an error escaped the error scopes.
    fn check_health(&self) -> Result<()> {
        if self.is_lost() {
            return Err(gpu_error("the GPU device was lost"));
        }
        if let Some(message) = self.uncaptured.lock().ok().and_then(|mut slot| slot.take()) {
            return Err(gpu_error(format!("GPU error: {message}")));
        }
        Ok(())
    }

    /// A buffer of `size` bytes (rounded up to 4, as copies require).
    fn buffer(&self, label: &str, size: u64, usage: wgpu::BufferUsages) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: size.next_multiple_of(4).max(4),
            usage,
            mapped_at_creation: false,
        })
    }

    /// A buffer holding `bytes`. Written through the queue rather than
    /// mapped at creation, so a failed allocation is an error in the scope,
    /// not a panic.
    fn upload(&self, label: &str, bytes: &[u8], usage: wgpu::BufferUsages) -> wgpu::Buffer {
        let buffer = self.buffer(label, bytes.len() as u64, usage);
        self.queue.write_buffer(&buffer, 0, bytes);
        buffer
    }

    /// Maps `buffer` and copies it out: the one readback of a call. Natively
    /// the device is polled until the map completes; on the web the browser
    /// completes it and `poll` would do nothing.
    async fn read_back(&self, buffer: &wgpu::Buffer) -> Result<Vec<u8>> {
        let (sender, receiver) = futures_channel::oneshot::channel();
        buffer.map_async(wgpu::MapMode::Read, .., move |result| {
            // The receiver is gone only if the call was dropped mid-flight.
            let _ = sender.send(result);
        });
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| gpu_error(format!("waiting for the GPU failed: {e}")))?;
        match receiver.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(gpu_error(format!("reading back from the GPU failed: {e}"))),
            Err(_) => {
                return Err(gpu_error(
                    "reading back from the GPU was cancelled (device lost?)",
                ))
            }
        }
        let bytes = buffer
            .get_mapped_range(..)
            .map_err(|e| gpu_error(format!("reading back from the GPU failed: {e}")))?
            .to_vec();
        buffer.unmap();
        Ok(bytes)
    }
}

/// A compute-stage buffer binding of the kNN layout.
fn layout_entry(
    binding: u32,
    ty: wgpu::BufferBindingType,
    has_dynamic_offset: bool,
) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset,
            min_binding_size: if has_dynamic_offset {
                wgpu::BufferSize::new(PARAMS_BYTES)
            } else {
                None
            },
        },
        count: None,
    }
}

/// Copies `n` rows of `d` values into rows of `width >= d`, zero-filled.
fn pad_rows(rows: &[f32], n: usize, d: usize, width: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; n * width];
    if d > 0 {
        for (source, target) in rows.chunks_exact(d).zip(out.chunks_exact_mut(width)) {
            target[..d].copy_from_slice(source);
        }
    }
    out
}

fn gpu_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Gpu, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every (query, candidate) pair is covered exactly once, candidate
    /// ranges in order, every dispatch within its budgets.
    #[test]
    fn dispatches_cover_every_pair_within_budgets() {
        for &(n, row_vec4, k, work, max_groups) in &[
            (1u64, 1u64, 1u64, MULTIPLY_ADDS_PER_DISPATCH, 65_535u64),
            (257, 2, 10, 1, 65_535),
            (10_000, 16, 10, MULTIPLY_ADDS_PER_DISPATCH, 65_535),
            (2_000, 96, 32, MULTIPLY_ADDS_PER_DISPATCH, 65_535),
            (30_000, 4, 10, MULTIPLY_ADDS_PER_DISPATCH, 3),
            (500, 384, 10, MULTIPLY_ADDS_PER_DISPATCH, 65_535),
        ] {
            let plan = plan_dispatches(n, row_vec4, k, work, max_groups).unwrap();
            let mut next_query = 0;
            let mut i = 0;
            while i < plan.len() {
                let first = plan[i];
                assert_eq!(first.query_offset, next_query);
                assert!(first.query_count.div_ceil(QUERY_TILE) <= max_groups);
                let mut next_candidate = 0;
                while i < plan.len() && plan[i].query_offset == first.query_offset {
                    let dispatch = plan[i];
                    assert_eq!(dispatch.query_count, first.query_count);
                    assert_eq!(dispatch.candidate_start, next_candidate);
                    assert_eq!(dispatch.candidate_start % CANDIDATE_TILE, 0);
                    let tiles = (dispatch.candidate_end - dispatch.candidate_start)
                        .div_ceil(CANDIDATE_TILE);
                    assert!(
                        tiles * loop_iterations_per_tile(row_vec4, k) + 2 * k + 8
                            <= LOOP_ITERATIONS_PER_DISPATCH
                    );
                    next_candidate = dispatch.candidate_end;
                    i += 1;
                }
                assert_eq!(next_candidate, n);
                next_query += first.query_count;
            }
            assert_eq!(next_query, n);
        }
        // Rows so long that one tile is over the loop budget.
        assert!(plan_dispatches(100, 16_384, 10, MULTIPLY_ADDS_PER_DISPATCH, 65_535).is_none());
    }
}
