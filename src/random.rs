//! The one source of pseudo-randomness: SplitMix64, seedable and the same on
//! every platform and version, so sampling, shuffles, dropout masks and
//! dataset splits are reproducible without another dependency.

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A small seedable generator.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix(self.0)
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A stable hash of a seed and a value (the value-th draw of SplitMix64 seeded
/// with `seed`).
pub fn hash64(seed: u64, v: u64) -> u64 {
    mix(seed.wrapping_add(v.wrapping_mul(GOLDEN)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_the_generators_nth_draw() {
        let mut r = Rng::new(42);
        let draws: Vec<u64> = (0..3).map(|_| r.next_u64()).collect();
        assert_eq!(draws, (1..=3).map(|i| hash64(42, i)).collect::<Vec<_>>());
        // SplitMix64's published first output for seed 0.
        assert_eq!(Rng::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
    }
}
