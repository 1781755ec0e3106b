//! Speaker attribution accuracy per quote type on the development corpora,
//! per novel and overall, with the cast given and discovered, and a
//! reliability table (confidence -> observed accuracy).
//! Run: cargo bench --bench attribution

#[path = "../tests/support/corpora.rs"]
mod corpora;

fn main() {
    corpora::report_pdnc();
    println!();
    for use_cast in [true, false] {
        corpora::score_wp(use_cast).print(&format!(
            "WP speaker-id dev, {}:",
            if use_cast {
                "name list given"
            } else {
                "names discovered"
            }
        ));
    }
}
