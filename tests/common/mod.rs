//! Shared by the test files: a seeded generator, the GPU context, the
//! command line tool and temporary paths.
#![allow(dead_code)] // each test file uses a part

/// Seeded xorshift64*: reproducible data without a dependency.
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> XorShift {
        XorShift(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [-1, 1).
    pub fn next_f32(&mut self) -> f32 {
        let bits = self.next() >> 40;
        (bits as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    /// In `0..bound`, by modulo.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
}

/// The GPU context, or `None` after a loud skip notice when there is no
/// adapter (a failure instead when `PREFLIGHT_REQUIRE_GPU=1`).
#[cfg(feature = "gpu")]
pub fn gpu_context() -> Option<preflight::gpu::GpuContext> {
    use std::io::Write;
    match pollster::block_on(preflight::gpu::GpuContext::new()) {
        Ok(context) => {
            let info = context.adapter_info();
            let _ = writeln!(std::io::stderr(), "GPU adapter: {} ({:?})", info.name, info.backend);
            Some(context)
        }
        Err(e) => {
            if std::env::var("PREFLIGHT_REQUIRE_GPU").is_ok_and(|v| v == "1") {
                panic!("PREFLIGHT_REQUIRE_GPU=1 but no GPU: {e}");
            }
            // Straight to stderr: the test harness does not capture this.
            let _ = writeln!(std::io::stderr(), "\n*** SKIPPED: no GPU adapter ({e}) ***\n");
            None
        }
    }
}

/// The command line tool, on the Vulkan backend unless `WGPU_BACKEND` says
/// otherwise.
#[cfg(feature = "cli")]
pub fn bin() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_preflight"));
    c.env("WGPU_BACKEND", std::env::var("WGPU_BACKEND").unwrap_or_else(|_| "vulkan".into()));
    c
}

/// `name` in this test process's own temporary folder
/// `preflight-{tag}-{pid}`, which is created.
pub fn temp(tag: &str, name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("preflight-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// The bytes of the semantic model file (`www/models/all-MiniLM-L6-v2.pfm`
/// or `$PREFLIGHT_MODEL`, found by `preflight::semantic::weights::find_model`),
/// or `None` after a loud skip notice when it is missing (a failure instead
/// when `PREFLIGHT_REQUIRE_MODEL=1`, as scripts/test sets).
pub fn model_bytes() -> Option<Vec<u8>> {
    use std::io::Write;
    let found = preflight::semantic::weights::find_model()
        .and_then(|path| std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display())));
    match found {
        Ok(bytes) => Some(bytes),
        Err(why) => {
            if std::env::var("PREFLIGHT_REQUIRE_MODEL").is_ok_and(|v| v == "1") {
                panic!("PREFLIGHT_REQUIRE_MODEL=1 but {why}");
            }
            let _ = writeln!(std::io::stderr(), "\n*** SKIPPED: {why} ***\n");
            None
        }
    }
}
