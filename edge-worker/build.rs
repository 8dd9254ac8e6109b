//! Embeds every site config in `examples/sites/` into the worker, so a deploy carries
//! the sites it serves and a typo in one fails the build's tests instead of a booking.
use std::{env, fs, path::Path};

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/sites");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut sites = Vec::new();
    if let Ok(entries) = fs::read_dir(&dir) {
        let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        // schema.json is the configs' contract (issue 16), not a site.
        for p in paths.into_iter().filter(|p| p.extension().is_some_and(|x| x == "json") && !p.ends_with("schema.json"))
        {
            println!("cargo:rerun-if-changed={}", p.display());
            sites.push(fs::read_to_string(&p).expect("site config is readable"));
        }
    }
    let out = Path::new(&env::var("OUT_DIR").unwrap()).join("sites.json");
    fs::write(out, format!("[{}]", sites.join(","))).unwrap();
}
