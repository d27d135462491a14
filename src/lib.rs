//! f3s: a declarative convergence engine for the f3s storage cluster.
//!
//! Data flows one way: `inventory` (load) → `compile` (modules rendered into resources) →
//! `graph` → `transport` (observe) → `resource` kinds (decide) → `plan` → `render`, and
//! `apply`, which sends each host its ready operations as a `batch`.

pub mod apply;
pub mod apply_error;
pub mod batch;
pub mod check_command;
pub mod cli;
pub mod compile;
pub mod compile_error;
pub mod compile_error_kind;
pub mod diff;
pub mod graph;
pub mod host_plan;
pub mod host_state;
pub mod interned;
pub mod interrupt;
pub mod inventory;
pub mod malloc_tuning;
pub mod managed;
pub mod module;
pub mod names;
pub mod op;
pub mod open_files;
pub mod plan;
pub mod plan_error;
pub mod prediction;
pub mod probe;
pub mod prune;
pub mod random;
pub mod record;
pub mod render;
pub mod resource;
pub mod rollout;
pub mod saved_plan;
pub mod selection;
pub mod sensitive;
pub mod shell_context;
pub mod shell_words;
pub mod source;
pub mod status;
pub mod status_check;
pub mod text_store;
pub mod transport;
pub mod values;
pub mod visible;
pub mod yaml;
pub mod zfs_property;
