//! Which device a job runs on: CPU, CUDA or Metal, with a fallback to the
//! CPU (and the reason, in plain words) when a GPU cannot be used.

use crate::jobs::{Error, Result};
use candle_core::{DType, Device};

/// The device a job runs on, with the reason when it is not the one asked for.
#[derive(Debug, Clone)]
pub struct PickedDevice {
    pub device: Device,
    pub dtype: DType,
    /// Set when a GPU was asked for (or found) but could not be used, so the
    /// job runs on the CPU instead: what to tell the person, in plain words.
    pub fallback: Option<String>,
}

/// "cpu", "cuda:N" or "metal": how a person names the device.
pub fn device_name(device: &Device) -> String {
    match device.location() {
        candle_core::DeviceLocation::Cpu => "cpu".into(),
        candle_core::DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        candle_core::DeviceLocation::Metal { .. } => "metal".into(),
    }
}

/// Whether this build of Dramatis was made with a GPU back end.
pub fn gpu_compiled(kind: &str) -> bool {
    match kind {
        "metal" => cfg!(feature = "metal"),
        _ => cfg!(feature = "cuda"),
    }
}

/// Open GPU `n` of `kind` ("cuda" or "metal"); why not, in plain words. A
/// driver that is missing can make the GPU library panic: that is caught.
pub fn open_gpu(kind: &str, n: usize) -> std::result::Result<Device, String> {
    let what = if kind == "metal" { "Metal" } else { "CUDA" };
    if !gpu_compiled(kind) {
        return Err(format!("this build of Dramatis has no {what} support"));
    }
    let made = std::panic::catch_unwind(|| {
        if kind == "metal" {
            Device::new_metal(n)
        } else {
            Device::new_cuda(n)
        }
    });
    match made {
        Ok(Ok(d)) => Ok(d),
        Ok(Err(e)) => Err(e.to_string().lines().next().unwrap_or("").trim().to_owned()),
        Err(_) => Err(format!("the {what} driver could not be loaded (missing or too old)")),
    }
}

/// `auto` (a GPU when Dramatis was built with one and it works), `cpu`,
/// `cuda[:N]` or `metal`, with the number format that suits it. A GPU that
/// is missing or fails to start is never an error: the job runs on the CPU and
/// [`PickedDevice::fallback`] says why.
pub fn pick_device(name: &str) -> Result<PickedDevice> {
    let cpu = |fallback: Option<String>| PickedDevice {
        device: Device::Cpu,
        dtype: DType::F32,
        fallback,
    };
    let gpu = |device: Device| {
        let dtype = if device.is_metal() { DType::F16 } else { DType::BF16 };
        PickedDevice {
            device,
            dtype,
            fallback: None,
        }
    };
    let instead = |what: &str, why: String| {
        Some(format!(
            "The {what} could not be used ({why}), so Dramatis runs on the CPU instead; this is slower, and nothing is lost."
        ))
    };
    match name {
        "auto" => {
            let mut why = None;
            for kind in ["cuda", "metal"].into_iter().filter(|k| gpu_compiled(k)) {
                match open_gpu(kind, 0) {
                    Ok(d) => return Ok(gpu(d)),
                    Err(e) => why = instead("GPU", e),
                }
            }
            Ok(cpu(why))
        }
        "cpu" => Ok(cpu(None)),
        "metal" => Ok(open_gpu("metal", 0).map_or_else(|e| cpu(instead("Apple GPU (Metal)", e)), gpu)),
        s if s == "cuda" || s.starts_with("cuda:") => {
            let n = match s.strip_prefix("cuda:") {
                None => 0,
                Some(n) => n
                    .parse()
                    .map_err(|_| Error::Invalid(format!("unknown device \"{s}\": use cuda:0, cuda:1, …")))?,
            };
            Ok(open_gpu("cuda", n).map_or_else(|e| cpu(instead(&format!("NVIDIA GPU ({s})"), e)), gpu))
        }
        other => Err(Error::Invalid(format!(
            "unknown device \"{other}\": use auto, cpu, cuda, cuda:N or metal"
        ))),
    }
}

#[cfg(test)]
mod device_tests {
    use super::*;

    #[test]
    fn a_gpu_that_cannot_be_used_falls_back_to_the_cpu_with_a_reason() {
        for (asked, what) in [
            ("cuda", "NVIDIA GPU (cuda)"),
            ("cuda:1", "NVIDIA GPU (cuda:1)"),
            ("metal", "Apple GPU (Metal)"),
        ] {
            let kind = if asked == "metal" { "metal" } else { "cuda" };
            let n = if asked == "cuda:1" { 1 } else { 0 };
            if open_gpu(kind, n).is_ok() {
                continue; // this machine has that GPU
            }
            let p = pick_device(asked).unwrap();
            assert!(p.device.is_cpu(), "{asked}");
            assert_eq!(p.dtype, DType::F32);
            let why = p.fallback.unwrap_or_default();
            assert!(why.starts_with(&format!("The {what} could not be used (")), "{why}");
            assert!(why.contains("runs on the CPU instead"), "{why}");
        }
        let cpu = pick_device("cpu").unwrap();
        assert!(cpu.device.is_cpu() && cpu.fallback.is_none());
        for bad in ["cuda:x", "gpu", "tpu"] {
            assert!(pick_device(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn auto_is_quiet_in_a_build_without_a_gpu() {
        if gpu_compiled("cuda") || gpu_compiled("metal") {
            return;
        }
        let p = pick_device("auto").unwrap();
        assert!(p.device.is_cpu() && p.fallback.is_none());
        assert_eq!(
            open_gpu("cuda", 0).unwrap_err(),
            "this build of Dramatis has no CUDA support"
        );
        assert_eq!(device_name(&p.device), "cpu");
    }
}
