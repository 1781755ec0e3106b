//! Which instruction-set path the matrix kernels take on this CPU.
//!
//! `DRAMATIS_CPU=avx2` keeps an AVX-512 machine on the AVX2+FMA kernels and
//! `DRAMATIS_CPU=generic` on the portable ones, so that the lower paths can be
//! measured on any machine. The f32 products (the `gemm` crate, patched in
//! `vendor/gemm-common`) and Dramatis' quantized kernels read the same variable.

/// An instruction-set path, highest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Path {
    Generic,
    Neon,
    Avx2,
    Avx512,
}

impl Path {
    pub fn name(self) -> &'static str {
        match self {
            Path::Generic => "portable",
            Path::Neon => "NEON",
            Path::Avx2 => "AVX2+FMA",
            Path::Avx512 => "AVX-512",
        }
    }
}

/// The path forced by `DRAMATIS_CPU`, if any (`avx2`, `generic`).
pub fn forced() -> Option<Path> {
    parse(&std::env::var("DRAMATIS_CPU").ok()?)
}

fn parse(value: &str) -> Option<Path> {
    match value.trim().to_ascii_lowercase().as_str() {
        "avx2" => Some(Path::Avx2),
        "generic" | "portable" | "scalar" => Some(Path::Generic),
        _ => None,
    }
}

/// The best path this CPU supports.
pub fn detected() -> Path {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            return Path::Avx512;
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            return Path::Avx2;
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        if std::arch::is_aarch64_feature_detected!("neon") {
            return Path::Neon;
        }
    }
    Path::Generic
}

/// The path the kernels take: the detected one, lowered by `DRAMATIS_CPU`.
pub fn path() -> Path {
    lowered(detected(), forced())
}

fn lowered(best: Path, forced: Option<Path>) -> Path {
    match forced {
        Some(f) if f < best => f,
        _ => best,
    }
}

/// In plain words, which kernels run the f32 and the quantized products.
pub fn kernels() -> Vec<String> {
    let p = path();
    let quantized = if crate::model::qkernel::available() {
        "Dramatis AVX2+FMA"
    } else {
        "candle portable"
    };
    vec![format!("f32: gemm {}", p.name()), format!("quantized: {quantized}")]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forced_path_only_lowers() {
        assert_eq!(parse("avx2"), Some(Path::Avx2));
        assert_eq!(parse(" Generic "), Some(Path::Generic));
        assert_eq!(parse("avx1024"), None);
        assert_eq!(lowered(Path::Avx512, parse("avx2")), Path::Avx2);
        assert_eq!(lowered(Path::Avx512, parse("generic")), Path::Generic);
        // A path the CPU lacks cannot be forced upwards.
        assert_eq!(lowered(Path::Neon, parse("avx2")), Path::Neon);
        assert_eq!(lowered(Path::Avx2, None), Path::Avx2);
    }
}
