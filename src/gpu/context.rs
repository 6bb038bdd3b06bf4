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

use super::reference::{dot, normalise_row_into};
use super::{KnnGraph, Metric};
use crate::error::{Error, ErrorKind, Result};

use super::plan::{self, Plan, Step, TileDispatch, MERGE_GROUP, TILE};

/// Multiply-adds one dispatch may do. Long dispatches trip the GPU watchdog
/// of browsers and operating systems (which then loses the device), so the
/// work is split into dispatches of about this much (about 3 ms on a large
/// GPU, 100 ms on a small integrated one), each in its own submission.
const MULTIPLY_ADDS_PER_DISPATCH: u64 = 1 << 35;

/// Size of the kernels' `Params` uniform.
const PARAMS_BYTES: u64 = 64;

/// The kernels' `Params`, one per dispatch (see `shaders/knn.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    row_vec4: u32,
    k: u32,
    metric: u32,
    splits: u32,
    query_first: u32,
    query_end: u32,
    query_global: u32,
    list_base: u32,
    candidate_start: u32,
    candidate_end: u32,
    candidate_global: u32,
    first: u32,
    infinity: f32,
    pad: [u32; 3],
}

const READ_ONLY: wgpu::BufferBindingType = wgpu::BufferBindingType::Storage { read_only: true };
const READ_WRITE: wgpu::BufferBindingType = wgpu::BufferBindingType::Storage { read_only: false };

/// Where the time of one [`GpuContext::knn`] call went.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KnnTiming {
    /// Preparing the rows on the CPU (normalising, padding) and handing
    /// them to the GPU, in milliseconds.
    pub host_ms: f64,
    /// From the first dispatch until the graph is back in memory.
    pub device_ms: f64,
    /// Dispatches (tile and merge).
    pub dispatches: usize,
    /// Row blocks (buffers) the data was split into.
    pub blocks: usize,
    /// Workgroup columns per query tile.
    pub splits: usize,
}

/// A GPU device with the kNN pipeline, built once (see [`GpuContext::new`]).
pub struct GpuContext {
    device: wgpu::Device,
    queue: wgpu::Queue,
    adapter_info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
    tile_pipeline: wgpu::ComputePipeline,
    tile_layout: wgpu::BindGroupLayout,
    merge_pipeline: wgpu::ComputePipeline,
    merge_layout: wgpu::BindGroupLayout,
    /// Multiply-adds one dispatch may do (see [`MULTIPLY_ADDS_PER_DISPATCH`]).
    work_per_dispatch: u64,
    /// Largest binding the kernels use, in bytes (the device's limit unless
    /// lowered with [`GpuContext::set_binding_limit`]).
    binding_limit: u64,
    /// Set by the device-lost callback; every later call fails.
    lost: Arc<AtomicBool>,
    /// Where the time of the last [`GpuContext::knn`] went.
    last_timing: Mutex<Option<KnnTiming>>,
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

/// The adapter [`GpuContext::new`] opens: natively from the backends in
/// `WGPU_BACKEND` (default: all), on wasm32 the browser's WebGPU.
async fn find_adapter() -> Result<wgpu::Adapter> {
    #[cfg(not(target_arch = "wasm32"))]
    let backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::all());
    #[cfg(target_arch = "wasm32")]
    let backends = wgpu::Backends::BROWSER_WEBGPU;
    // Without `navigator.gpu` (an old browser, or a context other than
    // a page or dedicated worker) `Instance::new` would panic.
    #[cfg(target_arch = "wasm32")]
    if !wgpu::util::is_browser_webgpu_supported().await {
        return Err(gpu_error("no GPU adapter: this browser offers no WebGPU here"));
    }

    let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    descriptor.backends = backends;
    let instance = wgpu::Instance::new(descriptor);
    instance
        .request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::from_env().unwrap_or(wgpu::PowerPreference::HighPerformance),
            ..Default::default()
        })
        .await
        .map_err(|e| gpu_error(format!("no GPU adapter ({backends:?}): {e}")))
}

/// What [`GpuContext::new`] would open, without opening it: the adapter's
/// description. Finding the adapter is the cheap part (about 0.1 s natively
/// with Vulkan); the device and the pipelines cost more, which an "auto"
/// choice can skip when the adapter turns out to run on the CPU.
#[cfg(not(target_arch = "wasm32"))]
pub async fn probe_adapter() -> Result<wgpu::AdapterInfo> {
    Ok(find_adapter().await?.get_info())
}

/// Whether an adapter runs on the CPU (llvmpipe, lavapipe, WARP, or
/// SwiftShader where the browser says so); see [`GpuContext::is_cpu_adapter`].
pub fn is_cpu_adapter_info(info: &wgpu::AdapterInfo) -> bool {
    info.device_type == wgpu::DeviceType::Cpu
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
        let adapter = find_adapter().await?;
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
            source: wgpu::ShaderSource::Wgsl(knn_source().into()),
        });
        // knn_tile: params, query rows and norms, candidate rows and norms,
        // the lists; knn_merge: params, the lists, the output.
        let tile_layout = bind_group_layout(
            &device,
            "knn tile",
            &[
                (0, wgpu::BufferBindingType::Uniform),
                (1, READ_ONLY),
                (2, READ_ONLY),
                (3, READ_ONLY),
                (4, READ_ONLY),
                (5, READ_WRITE),
                (6, READ_WRITE),
            ],
        );
        let merge_layout = bind_group_layout(
            &device,
            "knn merge",
            &[
                (0, wgpu::BufferBindingType::Uniform),
                (5, READ_WRITE),
                (6, READ_WRITE),
                (7, READ_WRITE),
                (8, READ_WRITE),
            ],
        );
        let tile_pipeline = compute_pipeline(&device, &module, &tile_layout, "knn_tile");
        let merge_pipeline = compute_pipeline(&device, &module, &merge_layout, "knn_merge");
        if let Some(error) = scope.pop().await {
            return Err(gpu_error(format!("cannot build the kNN pipeline: {error}")));
        }

        let limits = device.limits();
        let binding_limit = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        Ok(GpuContext {
            device,
            queue,
            adapter_info,
            limits,
            tile_pipeline,
            tile_layout,
            merge_pipeline,
            merge_layout,
            work_per_dispatch: MULTIPLY_ADDS_PER_DISPATCH,
            binding_limit,
            lost,
            uncaptured,
            last_timing: Mutex::new(None),
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
        is_cpu_adapter_info(&self.adapter_info)
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

    /// Sets how many multiply-adds one dispatch may do (default 2^35): lower
    /// it for a weak GPU whose watchdog fires, raise it to save submissions.
    /// A dispatch always covers at least one tile of 128 queries and one
    /// tile of 128 candidates.
    pub fn set_work_per_dispatch(&mut self, multiply_adds: u64) {
        self.work_per_dispatch = multiply_adds.max(1);
    }

    /// Lowers the largest binding the kNN kernels use (default: the
    /// device's `maxStorageBufferBindingSize`): data beyond it is split
    /// into more blocks and query ranges. For tests of the splitting, and
    /// for hosts that share the device.
    pub fn set_binding_limit(&mut self, bytes: u64) {
        self.binding_limit = bytes.min(
            self.limits
                .max_storage_buffer_binding_size
                .min(self.limits.max_buffer_size),
        );
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
        let started = crate::clock::now_ms();
        if u32::try_from(n).is_err() {
            return Err(gpu_error(format!("kNN: {n} rows do not fit in u32")));
        }

        // Rows padded to whole chunks of 8 values with zeros (no effect on
        // dots or norms).
        let row_vec4 = d.div_ceil(8).max(1) * 2;
        let width = row_vec4 * 4;
        let plan = plan::plan(plan::Input {
            n: n as u64,
            row_vec4: row_vec4 as u64,
            k: k as u64,
            work_per_dispatch: self.work_per_dispatch,
            binding_limit: self.binding_limit,
            max_groups: u64::from(self.limits.max_compute_workgroups_per_dimension.min(65_535)),
            one_split: self.is_cpu_adapter(),
        })
        .ok_or_else(|| {
            gpu_error(format!(
                "kNN: {n} rows of {d} values with k = {k} do not fit the GPU kernel within the \
                 device's limits (binding size, loop budget)"
            ))
        })?;
        let out_bytes = (n as u64) * (k as u64) * 4;
        if 2 * out_bytes > self.limits.max_buffer_size {
            return Err(gpu_error(format!(
                "kNN: the graph of {n} rows does not fit the GPU's buffer limit of {} bytes",
                self.limits.max_buffer_size
            )));
        }

        let steps = plan::steps(n as u64, &plan);
        let params = self.step_params(&steps, &plan, row_vec4, k, metric);

        let device = &self.device;
        let out_of_memory = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);

        let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
        let params_buffer = self.upload(
            "knn params",
            &params,
            wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        );
        // One buffer of rows and one of norms per block, padded to whole
        // tiles, each written straight into the queue's staging memory.
        let blocks: Vec<(wgpu::Buffer, wgpu::Buffer)> = (0..plan::blocks(n as u64, &plan))
            .map(|block| {
                let first = (block * plan.block_rows) as usize;
                let len = plan::block_len(n as u64, &plan, block) as usize;
                let padded_len = len.next_multiple_of(TILE as usize) as u64;
                let rows_buffer = self.buffer("knn rows", padded_len * width as u64 * 4, storage);
                let norms_buffer = self.buffer("knn norms", padded_len * 4, storage);
                let block_data = &data[first * d..(first + len) * d];
                let mut norms = vec![0.0f32; padded_len as usize];
                self.write_rows(&rows_buffer, padded_len as usize, width, |i, row| {
                    if i < len {
                        norms[i] = prepare_row(&block_data[i * d..(i + 1) * d], metric, row);
                    } else {
                        row.fill(0.0);
                    }
                });
                self.queue.write_buffer(&norms_buffer, 0, bytemuck::cast_slice(&norms));
                (rows_buffer, norms_buffer)
            })
            .collect();
        let lists = wgpu::BufferUsages::STORAGE;
        let list_indices = self.buffer("knn list indices", plan.list_bytes(k as u64), lists);
        let list_distances = self.buffer("knn list distances", plan.list_bytes(k as u64), lists);
        let range_out_bytes = plan.query_range * (k as u64) * 4;
        let output = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC;
        let out_indices = self.buffer("knn out indices", range_out_bytes, output);
        let out_distances = self.buffer("knn out distances", range_out_bytes, output);
        let readback = self.buffer(
            "knn readback",
            2 * out_bytes,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );

        let tile_groups: Vec<Vec<wgpu::BindGroup>> = blocks
            .iter()
            .map(|(query_rows, query_norms)| {
                blocks
                    .iter()
                    .map(|(candidate_rows, candidate_norms)| {
                        device.create_bind_group(&wgpu::BindGroupDescriptor {
                            label: Some("knn tile"),
                            layout: &self.tile_layout,
                            entries: &[
                                params_entry(&params_buffer),
                                whole(1, query_rows),
                                whole(2, query_norms),
                                whole(3, candidate_rows),
                                whole(4, candidate_norms),
                                whole(5, &list_indices),
                                whole(6, &list_distances),
                            ],
                        })
                    })
                    .collect()
            })
            .collect();
        let merge_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("knn merge"),
            layout: &self.merge_layout,
            entries: &[
                params_entry(&params_buffer),
                whole(5, &list_indices),
                whole(6, &list_distances),
                whole(7, &out_indices),
                whole(8, &out_distances),
            ],
        });

        // One submission per tile dispatch (see MULTIPLY_ADDS_PER_DISPATCH);
        // a range's merge and the copy of its result to the readback buffer
        // go with its last tile dispatch. The GPU runs submissions in order,
        // so the list and output buffers are reused by every range.
        let submitted = crate::clock::now_ms();
        let params_stride = self.params_stride();
        let mut encoder: Option<wgpu::CommandEncoder> = None;
        for (i, step) in steps.iter().enumerate() {
            let offset = (i as u64 * params_stride) as u32;
            if let Step::Tile(_) = step {
                if let Some(done) = encoder.take() {
                    self.queue.submit([done.finish()]);
                }
            }
            let encoder = encoder.get_or_insert_with(|| {
                device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("knn") })
            });
            match *step {
                Step::Tile(tile) => {
                    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some("knn tile"),
                        timestamp_writes: None,
                    });
                    pass.set_pipeline(&self.tile_pipeline);
                    pass.set_bind_group(
                        0,
                        &tile_groups[tile.query_block as usize][tile.candidate_block as usize],
                        &[offset],
                    );
                    let groups = (tile.query_end - tile.query_first).div_ceil(TILE);
                    pass.dispatch_workgroups(groups as u32, plan.splits as u32, 1);
                }
                Step::Merge { first, end } => {
                    {
                        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                            label: Some("knn merge"),
                            timestamp_writes: None,
                        });
                        pass.set_pipeline(&self.merge_pipeline);
                        pass.set_bind_group(0, &merge_group, &[offset]);
                        pass.dispatch_workgroups((end - first).div_ceil(MERGE_GROUP) as u32, 1, 1);
                    }
                    let bytes = (end - first) * (k as u64) * 4;
                    let at = first * (k as u64) * 4;
                    encoder.copy_buffer_to_buffer(&out_indices, 0, &readback, at, bytes);
                    encoder.copy_buffer_to_buffer(
                        &out_distances,
                        0,
                        &readback,
                        out_bytes + at,
                        bytes,
                    );
                }
            }
        }
        if let Some(done) = encoder.take() {
            self.queue.submit([done.finish()]);
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
        let finished = crate::clock::now_ms();
        if let Ok(mut slot) = self.last_timing.lock() {
            *slot = Some(KnnTiming {
                host_ms: submitted - started,
                device_ms: finished - submitted,
                dispatches: steps.len(),
                blocks: blocks.len(),
                splits: plan.splits as usize,
            });
        }
        Ok(KnnGraph {
            n,
            k,
            indices,
            distances,
        })
    }

    /// Where the time of the last successful [`GpuContext::knn`] went.
    pub fn last_timing(&self) -> Option<KnnTiming> {
        self.last_timing.lock().ok().and_then(|slot| *slot)
    }

    /// Fills `buffer` with `rows` rows of `width` values, row `i` written
    /// by `fill(i, row)` into a scratch row and copied straight into the
    /// queue's staging memory (or, where the queue offers none for it,
    /// into one buffer that is then copied).
    fn write_rows(
        &self,
        buffer: &wgpu::Buffer,
        rows: usize,
        width: usize,
        mut fill: impl FnMut(usize, &mut [f32]),
    ) {
        let mut row = vec![0.0f32; width];
        let row_bytes = width * 4;
        let staging = wgpu::BufferSize::new((rows * row_bytes) as u64)
            .and_then(|size| self.queue.write_buffer_with(buffer, 0, size));
        match staging {
            Some(mut view) => {
                let mut target = view.slice(..);
                for i in 0..rows {
                    fill(i, &mut row);
                    target
                        .slice(i * row_bytes..(i + 1) * row_bytes)
                        .copy_from_slice(bytemuck::cast_slice(&row));
                }
            }
            None => {
                let mut all = vec![0.0f32; rows * width];
                for (i, target) in all.chunks_exact_mut(width.max(1)).enumerate() {
                    fill(i, &mut row);
                    target.copy_from_slice(&row);
                }
                self.queue.write_buffer(buffer, 0, bytemuck::cast_slice(&all));
            }
        }
    }

    /// Bytes between the params of two dispatches (the device's uniform
    /// offset alignment).
    fn params_stride(&self) -> u64 {
        PARAMS_BYTES.next_multiple_of(u64::from(self.limits.min_uniform_buffer_offset_alignment))
    }

    /// The params of every step, each at its own offset of one buffer.
    fn step_params(
        &self,
        steps: &[Step],
        plan: &Plan,
        row_vec4: usize,
        k: usize,
        metric: Metric,
    ) -> Vec<u8> {
        let stride = self.params_stride() as usize;
        let mut bytes = Vec::with_capacity(steps.len() * stride);
        for step in steps {
            let mut value = Params {
                row_vec4: row_vec4 as u32,
                k: k as u32,
                metric: match metric {
                    Metric::Cosine => 0,
                    Metric::SquaredEuclidean => 1,
                },
                splits: plan.splits as u32,
                infinity: f32::INFINITY,
                ..Params::default()
            };
            match *step {
                Step::Tile(TileDispatch {
                    query_block,
                    query_first,
                    query_end,
                    candidate_block,
                    candidate_start,
                    candidate_end,
                    first,
                }) => {
                    value.query_first = query_first as u32;
                    value.query_end = query_end as u32;
                    value.query_global = (query_block * plan.block_rows) as u32;
                    value.list_base = query_first as u32;
                    value.candidate_start = candidate_start as u32;
                    value.candidate_end = candidate_end as u32;
                    value.candidate_global = (candidate_block * plan.block_rows) as u32;
                    value.first = u32::from(first);
                }
                Step::Merge { first, end } => {
                    value.query_end = (end - first) as u32;
                }
            }
            let start = bytes.len();
            bytes.extend_from_slice(bytemuck::bytes_of(&value));
            bytes.resize(start + stride, 0);
        }
        bytes
    }

    /// Fails when the device was lost or an error escaped the error scopes.
    pub(crate) fn check_health(&self) -> Result<()> {
        if self.is_lost() {
            return Err(gpu_error("the GPU device was lost"));
        }
        if let Some(message) = self.uncaptured.lock().ok().and_then(|mut slot| slot.take()) {
            return Err(gpu_error(format!("GPU error: {message}")));
        }
        Ok(())
    }

    /// A buffer of `size` bytes (rounded up to 4, as copies require).
    pub(crate) fn buffer(&self, label: &str, size: u64, usage: wgpu::BufferUsages) -> wgpu::Buffer {
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
    pub(crate) fn upload(&self, label: &str, bytes: &[u8], usage: wgpu::BufferUsages) -> wgpu::Buffer {
        let buffer = self.buffer(label, bytes.len() as u64, usage);
        self.queue.write_buffer(&buffer, 0, bytes);
        buffer
    }

    /// Maps `buffer` and copies it out: the one readback of a call. Natively
    /// the device is polled until the map completes; on the web the browser
    /// completes it and `poll` would do nothing.
    pub(crate) async fn read_back(&self, buffer: &wgpu::Buffer) -> Result<Vec<u8>> {
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

/// The kNN kernels' WGSL: `shaders/knn.wgsl`, or natively the file named by
/// `PREFLIGHT_KNN_WGSL` (for tuning the kernel on a GPU machine without
/// rebuilding; the variant must keep the bindings and `Params`).
fn knn_source() -> std::borrow::Cow<'static, str> {
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(source) = std::env::var_os("PREFLIGHT_KNN_WGSL")
        .and_then(|path| std::fs::read_to_string(path).ok())
    {
        return source.into();
    }
    include_str!("../../shaders/knn.wgsl").into()
}

/// A bind-group layout of compute-stage buffers; the uniform (params) with
/// a dynamic offset.
fn bind_group_layout(
    device: &wgpu::Device,
    label: &str,
    entries: &[(u32, wgpu::BufferBindingType)],
) -> wgpu::BindGroupLayout {
    let entries: Vec<wgpu::BindGroupLayoutEntry> = entries
        .iter()
        .map(|&(binding, ty)| {
            let uniform = ty == wgpu::BufferBindingType::Uniform;
            wgpu::BindGroupLayoutEntry {
                binding,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty,
                    has_dynamic_offset: uniform,
                    min_binding_size: if uniform {
                        wgpu::BufferSize::new(PARAMS_BYTES)
                    } else {
                        None
                    },
                },
                count: None,
            }
        })
        .collect();
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(label),
        entries: &entries,
    })
}

/// The compute pipeline of `entry_point` with `layout` as its only group.
fn compute_pipeline(
    device: &wgpu::Device,
    module: &wgpu::ShaderModule,
    layout: &wgpu::BindGroupLayout,
    entry_point: &str,
) -> wgpu::ComputePipeline {
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(entry_point),
        bind_group_layouts: &[Some(layout)],
        immediate_size: 0,
    });
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(entry_point),
        layout: Some(&pipeline_layout),
        module,
        entry_point: Some(entry_point),
        compilation_options: Default::default(),
        cache: None,
    })
}

/// A buffer binding of the whole of `buffer`.
fn whole(binding: u32, buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: buffer.as_entire_binding(),
    }
}

/// The params binding: `PARAMS_BYTES` at a dynamic offset.
fn params_entry(buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding: 0,
        resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer,
            offset: 0,
            size: wgpu::BufferSize::new(PARAMS_BYTES),
        }),
    }
}

/// Writes one row of `d` values as the kernel reads it into `row` (of at
/// least `d` values; the rest stays as it is, zeros): L2-normalised for
/// cosine (as [`super::reference::normalise_rows`] does, bit for bit), as
/// it is for squared euclidean. Returns its squared norm for squared
/// euclidean (as [`super::reference::squared_norms`]), 0 for cosine (the
/// kernel reads none).
fn prepare_row(source: &[f32], metric: Metric, row: &mut [f32]) -> f32 {
    let row = &mut row[..source.len()];
    match metric {
        Metric::Cosine => {
            normalise_row_into(source, row);
            0.0
        }
        Metric::SquaredEuclidean => {
            row.copy_from_slice(source);
            dot(source, source)
        }
    }
}

pub(crate) fn gpu_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Gpu, message)
}
