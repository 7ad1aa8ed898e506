//! The module layers `src/lib.rs` draws are the ones the code keeps: each
//! top-level module names (`crate::…`, outside comments) only modules in a
//! layer below its own. `cargo modules dependencies --lib |
//! scripts/module-graph.py` checks the same for `use` edges at every depth
//! (and finds circles between sibling modules); this test runs everywhere,
//! with nothing to install.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

/// The layer of each module, read off the diagram in `src/lib.rs`: the
/// first ```text block after "Each module uses only those listed in a
/// layer below"; the top line is the highest layer.
fn layers() -> HashMap<String, usize> {
    let lib = fs::read_to_string(format!("{MANIFEST}/src/lib.rs")).unwrap();
    let after = lib
        .split("Each module uses only those listed in a layer below")
        .nth(1)
        .expect("lib.rs describes the layers");
    let block = after
        .split("```text\n")
        .nth(1)
        .and_then(|b| b.split("//! ```").next())
        .expect("lib.rs draws the layers in a text block");
    let lines: Vec<&str> = block
        .lines()
        .map(|l| l.trim_start_matches("//!").trim())
        .filter(|l| !l.is_empty())
        .collect();
    let mut layer = HashMap::new();
    for (i, line) in lines.iter().enumerate() {
        for module in line.split_whitespace() {
            layer.insert(module.to_string(), lines.len() - i);
        }
    }
    layer
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The modules a file names as `crate::NAME`, in code (not comments).
fn named(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push(name);
            }
        }
    }
    found
}

#[test]
fn each_module_uses_only_the_layers_below_it() {
    let layer = layers();
    let src = Path::new(MANIFEST).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut wrong = Vec::new();
    let mut checked = 0;
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let first = rel.iter().next().unwrap().to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "lib" || module == "main" {
            continue;
        }
        let Some(&own) = layer.get(&module) else {
            wrong.push(format!(
                "src/{first}: module `{module}` is in no layer of lib.rs"
            ));
            continue;
        };
        for used in named(&fs::read_to_string(&file).unwrap()) {
            if used == module {
                continue;
            }
            checked += 1;
            match layer.get(&used) {
                Some(&theirs) if theirs < own => {}
                Some(_) => wrong.push(format!(
                    "{}: `{module}` uses `{used}`, which is not in a layer below it",
                    rel.display()
                )),
                None => wrong.push(format!(
                    "{}: `crate::{used}` is in no layer of lib.rs",
                    rel.display()
                )),
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} uses found: is the scan broken?"
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The scan sees what it must: a use in code, not one in a comment.
#[test]
fn the_scan_reads_code_not_comments() {
    let text = "use crate::config::Config;\n// crate::proxy is not used\nlet x = crate::net::canonical_ip(a); // crate::tls\n";
    assert_eq!(named(text), ["config", "net"]);
}
