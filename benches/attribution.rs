//! Speaker attribution accuracy per quote type on the development corpora.
//! Run: cargo bench --bench attribution

#[path = "../tests/support/corpora.rs"]
mod corpora;

fn main() {
    for use_cast in [true, false] {
        let mut all = corpora::Score::default();
        for n in corpora::pdnc() {
            let s = corpora::score_novel(&n, use_cast);
            println!(
                "{:<28} explicit {:>5.1}%  all {:>5.1}%",
                n.name,
                100.0 * s.accuracy("Explicit"),
                100.0 * s.overall()
            );
            all.merge(&s);
        }
        all.print(&format!(
            "PDNC dev, 8 novels, {}:",
            if use_cast { "cast given" } else { "cast discovered" }
        ));
        corpora::score_wp(use_cast).print(&format!(
            "WP speaker-id dev, {}:",
            if use_cast {
                "name list given"
            } else {
                "names discovered"
            }
        ));
        println!();
    }
}
