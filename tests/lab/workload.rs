//! The scale workload, for the scale tests and the benchmark (examples/scale.rs): per host, a
//! quarter of the resources directories (one the root), half files of ~1 KiB rendered from a template (two
//! per directory), the rest lines in one file, as the peers were measured with (20
//! directories, 40 files, 20 lines at 80 resources).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::Lab;

/// Where the workload lives on each host.
pub const ROOT: &str = "/srv/f3s-bench";

const MODULE: &str = r#"description: The scale workload.
params:
  root: { type: path }
  dirs: { type: list }
  files: { type: list }
  lines: { type: list }
resources:
  - directory: "{{root}}"
    mode: "0755"
  - directory: "{{root}}/{{item}}"
    for_each: dirs
    mode: "0755"
  - file: "{{root}}/{{item}}"
    for_each: files
    template: file.hbs
    mode: "0644"
  - line: "setting-{{item}}"
    for_each: lines
    path: "{{root}}/settings.conf"
    text: "setting_{{item}} = value {{item}} for {{host.name}}"
"#;

/// Writes `inventory.yml` and the `workload` module into `dir`, `resources` per lab host, and
/// returns the inventory's path.
pub fn write(dir: &Path, lab: &Lab, resources: usize) -> PathBuf {
    let templates = dir.join("modules/workload/templates");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(dir.join("modules/workload/module.yml"), MODULE).unwrap();
    let mut template = String::from("# {{item}} on {{host.name}}, managed by f3s\n");
    for _ in 0..16 {
        template.push_str(&"0123456789abcdef".repeat(4));
        template.push('\n');
    }
    std::fs::write(templates.join("file.hbs"), template).unwrap();
    // The root directory counts among the directories.
    let dirs = (resources / 4).max(2) - 1;
    let files = resources / 2;
    let lines = resources.saturating_sub(dirs + 1 + files);
    let list = |items: Vec<String>| format!("[{}]", items.join(", "));
    let mut yaml = format!(
        "module_path: [{}]\ndefaults:\n  vars:\n",
        dir.join("modules").display()
    );
    let _ = writeln!(yaml, "    root: {ROOT}");
    let _ = writeln!(
        yaml,
        "    dirs: {}",
        list((0..dirs).map(|d| format!("d{d:04}")).collect())
    );
    let _ = writeln!(
        yaml,
        "    files: {}",
        list(
            (0..files)
                .map(|f| format!("d{:04}/f{f:05}.conf", f % dirs))
                .collect()
        )
    );
    let _ = writeln!(
        yaml,
        "    lines: {}",
        list((0..lines).map(|l| l.to_string()).collect())
    );
    yaml.push_str("  modules:\n    - module: workload\n");
    yaml.push_str(&lab.inventory_hosts(&|_| String::new()));
    let inventory = dir.join("inventory.yml");
    std::fs::write(&inventory, yaml).unwrap();
    inventory
}
