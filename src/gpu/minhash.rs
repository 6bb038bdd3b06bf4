//! MinHash signatures on the GPU (`shaders/minhash.wgsl`): bit for bit the
//! values of [`crate::checks::text_dups::signatures_cpu`], the reference and
//! fallback.
//!
//! The kernel's pipeline is built on first use on a context's device and
//! kept per thread (the page's worker, the CLI), so that the kNN context
//! stays as it is; a context on another device builds it again.

use std::cell::RefCell;
use std::rc::Rc;

use super::context::gpu_error;
use super::GpuContext;
use crate::checks::text_dups::{Permutations, PERMUTATIONS};
use crate::error::{Error, ErrorKind, Result};

/// Shingles of one item (a text, or a window of a long one): each is a
/// loop iteration of every invocation, and lavapipe silently stops an
/// invocation after 65535 of them; half leaves a margin.
pub const WINDOW: u64 = 32_768;

/// Hash evaluations (shingles x permutations) one dispatch may do, so that
/// no dispatch runs long enough to trip a GPU watchdog.
pub const HASHES_PER_DISPATCH: u64 = 1 << 28;

/// Size of the kernel's `Params` uniform.
const PARAMS_BYTES: u64 = 16;

/// The kernel's `Params`, one per dispatch.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    item_offset: u32,
    item_count: u32,
    window_len: u32,
    pad: u32,
}

/// The work items of texts (`offsets`, texts + 1 entries): `(text, first
/// shingle)` for every window of [`WINDOW`] shingles of every text; a text
/// without shingles has none (its signature stays all `u32::MAX`).
pub fn work_items(offsets: &[u32]) -> Vec<[u32; 2]> {
    let mut items = Vec::with_capacity(offsets.len().saturating_sub(1));
    for (text, w) in offsets.windows(2).enumerate() {
        let length = u64::from(w[1] - w[0]);
        let mut start = 0;
        while start < length {
            items.push([text as u32, start as u32]);
            start += WINDOW;
        }
    }
    items
}

/// Splits `items` into dispatches `(first item, items)` of at most
/// `max_groups` items and about `hashes_per_dispatch` hash evaluations (at
/// least one item each), in order.
pub fn plan_dispatches(items: &[[u32; 2]], offsets: &[u32], max_groups: u64, hashes_per_dispatch: u64) -> Vec<(u32, u32)> {
    let cost = |item: &[u32; 2]| {
        let length = u64::from(offsets[item[0] as usize + 1] - offsets[item[0] as usize]);
        (length - u64::from(item[1])).min(WINDOW) * PERMUTATIONS as u64
    };
    let mut dispatches = Vec::new();
    let mut start = 0;
    while start < items.len() {
        let (mut end, mut work) = (start, 0u64);
        while end < items.len() && ((end - start) as u64) < max_groups.max(1) {
            let c = cost(&items[end]);
            if end > start && work + c > hashes_per_dispatch {
                break;
            }
            work += c;
            end += 1;
        }
        dispatches.push((start as u32, (end - start) as u32));
        start = end;
    }
    dispatches
}

const READ_ONLY: wgpu::BufferBindingType = wgpu::BufferBindingType::Storage { read_only: true };
const READ_WRITE: wgpu::BufferBindingType = wgpu::BufferBindingType::Storage { read_only: false };

/// The MinHash pipeline on one device.
struct Kernel {
    device: wgpu::Device,
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
}

thread_local! {
    /// The pipeline of the last device used on this thread.
    static KERNEL: RefCell<Option<Rc<Kernel>>> = const { RefCell::new(None) };
}

fn layout_entry(binding: u32, ty: wgpu::BufferBindingType, dynamic: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: dynamic,
            min_binding_size: if dynamic { wgpu::BufferSize::new(PARAMS_BYTES) } else { None },
        },
        count: None,
    }
}

impl Kernel {
    async fn new(device: &wgpu::Device) -> Result<Kernel> {
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("minhash.wgsl"),
            source: wgpu::ShaderSource::Wgsl(include_str!("../../shaders/minhash.wgsl").into()),
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("minhash"),
            entries: &[
                layout_entry(0, wgpu::BufferBindingType::Uniform, true),
                layout_entry(1, READ_ONLY, false),  // shingles
                layout_entry(2, READ_ONLY, false),  // offsets
                layout_entry(3, READ_ONLY, false),  // permutations
                layout_entry(4, READ_ONLY, false),  // work items
                layout_entry(5, READ_WRITE, false), // signatures (atomic)
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("minhash"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("minhash"),
            layout: Some(&pipeline_layout),
            module: &module,
            entry_point: Some("minhash"),
            compilation_options: Default::default(),
            cache: None,
        });
        if let Some(error) = scope.pop().await {
            return Err(gpu_error(format!("cannot build the MinHash pipeline: {error}")));
        }
        Ok(Kernel { device: device.clone(), pipeline, layout })
    }
}

/// This thread's pipeline for the context's device, built on first use.
async fn kernel(context: &GpuContext) -> Result<Rc<Kernel>> {
    let cached = KERNEL.with(|k| k.borrow().clone());
    if let Some(kernel) = cached.filter(|k| &k.device == context.device()) {
        return Ok(kernel);
    }
    let kernel = Rc::new(Kernel::new(context.device()).await?);
    KERNEL.with(|k| *k.borrow_mut() = Some(kernel.clone()));
    Ok(kernel)
}

/// MinHash signatures of texts on the GPU: text `t` has the 32-bit shingles
/// `shingles[offsets[t]..offsets[t + 1]]`; returns [`PERMUTATIONS`] values
/// per text, text after text, equal to the CPU reference's.
///
/// Fails with [`ErrorKind::InvalidOption`] when the offsets do not describe
/// `shingles`, and with [`ErrorKind::Gpu`] when the data does not fit the
/// device's buffer limits or on any device error (run the CPU reference then).
pub async fn signatures(
    context: &GpuContext,
    shingles: &[u32],
    offsets: &[u32],
    permutations: &Permutations,
) -> Result<Vec<u32>> {
    context.check_health()?;
    let well_formed = offsets.first() == Some(&0)
        && offsets.windows(2).all(|w| w[0] <= w[1])
        && offsets.last().is_some_and(|&last| last as usize == shingles.len());
    if !well_formed {
        return Err(Error::new(
            ErrorKind::InvalidOption,
            format!("MinHash: {} offsets do not describe {} shingles", offsets.len(), shingles.len()),
        ));
    }
    let texts = offsets.len() - 1;
    if texts == 0 {
        return Ok(Vec::new());
    }
    let limits = context.limits();
    let binding_limit = limits.max_storage_buffer_binding_size.min(limits.max_buffer_size);
    let out_bytes = texts as u64 * PERMUTATIONS as u64 * 4;
    let shingle_bytes = shingles.len() as u64 * 4;
    if out_bytes > binding_limit || shingle_bytes > binding_limit || offsets.len() as u64 * 4 > binding_limit {
        return Err(gpu_error(format!(
            "MinHash: {texts} texts of {} shingles do not fit the GPU's buffer limit of {binding_limit} bytes",
            shingles.len()
        )));
    }
    let kernel = kernel(context).await?;

    let items = work_items(offsets);
    if items.is_empty() {
        return Ok(vec![u32::MAX; texts * PERMUTATIONS]); // no shingle at all
    }
    if items.len() as u64 * 8 > binding_limit {
        return Err(gpu_error(format!("MinHash: {} work items do not fit the GPU's buffer limit", items.len())));
    }
    let max_groups = u64::from(limits.max_compute_workgroups_per_dimension.min(65_535));
    let dispatches = plan_dispatches(&items, offsets, max_groups, HASHES_PER_DISPATCH);
    let stride = PARAMS_BYTES.next_multiple_of(u64::from(limits.min_uniform_buffer_offset_alignment));
    let params: Vec<u8> = dispatches
        .iter()
        .flat_map(|&(item_offset, item_count)| {
            let value = Params { item_offset, item_count, window_len: WINDOW as u32, pad: 0 };
            let mut bytes = bytemuck::bytes_of(&value).to_vec();
            bytes.resize(stride as usize, 0);
            bytes
        })
        .collect();

    let device = context.device();
    let out_of_memory = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
    let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
    let params_buffer =
        context.upload("minhash params", &params, wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST);
    // A binding cannot be empty: texts without shingles still get 4 bytes.
    let shingles_buffer = context.upload("minhash shingles", bytemuck::cast_slice(shingles), storage);
    let offsets_buffer = context.upload("minhash offsets", bytemuck::cast_slice(offsets), storage);
    let permutations_buffer =
        context.upload("minhash permutations", bytemuck::cast_slice(&permutations.interleaved()), storage);
    let items_buffer = context.upload("minhash items", bytemuck::cast_slice(&items), storage);
    // Every value starts at u32::MAX; items lower them with atomicMin.
    let signatures_buffer = context.upload(
        "minhash signatures",
        &vec![0xff; out_bytes as usize],
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
    );
    let readback =
        context.buffer("minhash readback", out_bytes, wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST);
    fn entry(binding: u32, buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
        wgpu::BindGroupEntry { binding, resource: buffer.as_entire_binding() }
    }
    let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("minhash"),
        layout: &kernel.layout,
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &params_buffer,
                    offset: 0,
                    size: wgpu::BufferSize::new(PARAMS_BYTES),
                }),
            },
            entry(1, &shingles_buffer),
            entry(2, &offsets_buffer),
            entry(3, &permutations_buffer),
            entry(4, &items_buffer),
            entry(5, &signatures_buffer),
        ],
    });

    // One submission per dispatch (short submissions keep watchdogs quiet),
    // the copy to the readback buffer in the last one.
    for (i, &(_, item_count)) in dispatches.iter().enumerate() {
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("minhash") });
        {
            let mut pass = encoder
                .begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("minhash"), timestamp_writes: None });
            pass.set_pipeline(&kernel.pipeline);
            pass.set_bind_group(0, &bind_group, &[(i as u64 * stride) as u32]);
            pass.dispatch_workgroups(item_count, 1, 1);
        }
        if i + 1 == dispatches.len() {
            encoder.copy_buffer_to_buffer(&signatures_buffer, 0, &readback, 0, out_bytes);
        }
        context.queue().submit([encoder.finish()]);
    }
    // Scopes pop in reverse order of their push.
    let validation_error = validation.pop().await;
    let out_of_memory_error = out_of_memory.pop().await;
    if let Some(error) = validation_error.or(out_of_memory_error) {
        return Err(gpu_error(format!("MinHash on the GPU failed: {error}")));
    }
    let bytes = context.read_back(&readback).await?;
    context.check_health()?;
    Ok(bytemuck::pod_collect_to_vec(&bytes[..out_bytes as usize]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shingle of every text is in exactly one item; dispatches cover
    /// the items in order within their budgets.
    #[test]
    fn items_and_dispatches_cover_every_shingle_within_budgets() {
        let lengths: Vec<u32> = (0..5000u32).map(|i| if i == 1234 { 100_000 } else { (i * 7919) % 300 }).collect();
        let mut offsets = vec![0u32];
        for l in &lengths {
            offsets.push(offsets.last().unwrap() + l);
        }
        let items = work_items(&offsets);
        let mut covered = vec![0u64; lengths.len()];
        for &[text, start] in &items {
            let length = u64::from(lengths[text as usize]);
            assert!(u64::from(start) < length && u64::from(start) % WINDOW == 0);
            covered[text as usize] += (length - u64::from(start)).min(WINDOW);
        }
        assert_eq!(covered, lengths.iter().map(|&l| u64::from(l)).collect::<Vec<_>>());
        assert_eq!(items.iter().filter(|i| i[0] == 1234).count(), 4); // 100,000 shingles: 4 windows
        for (max_groups, budget) in [(65_535, HASHES_PER_DISPATCH), (1000, HASHES_PER_DISPATCH), (65_535, 1 << 20), (3, 1)] {
            let plan = plan_dispatches(&items, &offsets, max_groups, budget);
            let mut next = 0;
            for &(first, count) in &plan {
                assert_eq!(first, next);
                assert!(count >= 1 && u64::from(count) <= max_groups);
                if count > 1 {
                    let work: u64 = items[first as usize..(first + count) as usize]
                        .iter()
                        .map(|&[t, s]| (u64::from(lengths[t as usize]) - u64::from(s)).min(WINDOW) * 128)
                        .sum();
                    assert!(work <= budget, "{work} > {budget}");
                }
                next += count;
            }
            assert_eq!(next as usize, items.len());
        }
        assert!(work_items(&[0]).is_empty());
        assert!(work_items(&[0, 0, 0]).is_empty());
    }
}
