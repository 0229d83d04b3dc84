//! V8's sampling heap profiler, driven and read natively: the route that never forces a
//! garbage collection.
//!
//! Through the inspector (`HeapProfiler.getSamplingProfile`) every read first runs a full,
//! atomic GC, because V8's inspector agent always starts the profiler with
//! `kSamplingForceGC` (about a second on a 750 MB heap). Started here without that flag,
//! `HeapProfiler::GetAllocationProfile()` builds the profile without collecting: what
//! Datadog's and Google Cloud's profilers do. Reads are then taken right after the natural
//! full GCs the monitor observes (lib/agent/sampler.js), when the profile is as exact as after a
//! forced one.
//!
//! The entry points are the C++ functions the `node` executable exports to addons
//! (`v8::Isolate::GetCurrent`, `Isolate::GetHeapProfiler`, `HeapProfiler::
//! StartSamplingHeapProfiler`, `StopSamplingHeapProfiler`, `GetAllocationProfile`), found at
//! run time with `dlsym`, so the one binary still loads where they are missing (another
//! runtime): the JS side then keeps the inspector route. What they return is read by the
//! layout of `v8-profiler.h` (unchanged from Node 20's V8 11.3 to Node 26's V8 14.6 but for
//! `Sample::is_live`, added in V8 14), and only after a self-check in this very process has
//! found it exact: [`check_begin`] starts the profiler at a fine interval, JS allocates from a
//! function whose name, file and line it knows, and [`check_end`] must find that function,
//! at that file and line only, with its samples, in the profile read natively, and tells the sample layout
//! apart from the data. Nothing is read on a guess: until the check passed, [`start`] refuses;
//! every read checks the profile's virtual table against the one the check verified, and
//! bounds every vector and number before following a pointer.
//!
//! Strings reach Rust through N-API: a `v8::Local<v8::String>` is one word, the same word an
//! N-API `napi_value` is in Node (`JsValueFromV8LocalValue` is a `reinterpret_cast`), so the
//! node's name handles go to `napi_get_value_string_utf8`, inside an N-API handle scope that
//! also bounds the handles V8 creates for the profile. Names are cached by script and
//! position, so a read of a known tree converts few strings.
//!
//! Main thread only (the isolate is the current thread's); every entry point is called from
//! JS on it, under `catch_unwind`.

use leakwatch_core::sampling::profile::{CallFrame, HeapProfile, ProfileNode, Sample};
use napi::sys;
use std::collections::{HashMap, HashSet};
use std::ffi::{c_int, c_void, CStr};
use std::sync::{Mutex, OnceLock};

/// Why the native route cannot be used (the JS side falls back to the inspector and says so).
#[derive(Debug, Clone, PartialEq)]
pub struct Unusable(pub String);

impl Unusable {
    fn new(message: impl Into<String>) -> Self {
        Unusable(message.into())
    }
}

type Outcome<T> = Result<T, Unusable>;

// ---- entry points --------------------------------------------------------------------

type GetCurrent = unsafe extern "C" fn() -> *mut c_void;
type GetHeapProfiler = unsafe extern "C" fn(*mut c_void) -> *mut c_void;
type Start = unsafe extern "C" fn(*mut c_void, u64, c_int, c_int) -> bool;
type Stop = unsafe extern "C" fn(*mut c_void);
type GetProfile = unsafe extern "C" fn(*mut c_void) -> *mut c_void;
type GetRoot = unsafe extern "C" fn(*mut c_void) -> *const RawNode;
type GetSamples = unsafe extern "C" fn(*mut c_void) -> *const RawVec;
type Delete = unsafe extern "C" fn(*mut c_void);

/// Itanium C++ names (Linux and macOS, every 64-bit target the package builds).
const GET_CURRENT: &CStr = c"_ZN2v87Isolate10GetCurrentEv";
const GET_HEAP_PROFILER: &CStr = c"_ZN2v87Isolate15GetHeapProfilerEv";
const START: &CStr = c"_ZN2v812HeapProfiler25StartSamplingHeapProfilerEmiNS0_13SamplingFlagsE";
const STOP: &CStr = c"_ZN2v812HeapProfiler24StopSamplingHeapProfilerEv";
const GET_PROFILE: &CStr = c"_ZN2v812HeapProfiler20GetAllocationProfileEv";
/// `v8::HeapProfiler::kSamplingNoFlags`: above all, not `kSamplingForceGC`.
const NO_FLAGS: c_int = 0;

struct Api {
    get_current: GetCurrent,
    get_heap_profiler: GetHeapProfiler,
    start: Start,
    stop: Stop,
    get_profile: GetProfile,
    /// Load address of the object that exports them (the `node` executable).
    base: usize,
}

/// The object (executable or library) that holds `address`, by its load address.
fn object_base(address: usize) -> Option<usize> {
    // SAFETY: `Dl_info` is a C struct of pointers (and integers): all zero bytes (null
    // pointers) is a valid value of it.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: dladdr accepts any address (it only looks it up in the loader's tables, it
    // does not dereference it) and writes into `info`, a valid, writable `Dl_info`.
    let found = unsafe { libc::dladdr(address as *const c_void, &mut info) };
    (found != 0 && !info.dli_fbase.is_null()).then_some(info.dli_fbase as usize)
}

fn symbol(name: &CStr) -> Outcome<usize> {
    // SAFETY: `name` is a NUL-terminated C string (a `CStr`) and RTLD_DEFAULT is a valid
    // pseudo-handle: dlsym only searches the process's global symbols for it.
    let address = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) } as usize;
    if address == 0 {
        return Err(Unusable::new(format!(
            "this runtime does not export V8's {} (not a Node.js executable?)",
            name.to_string_lossy()
        )));
    }
    Ok(address)
}

fn api() -> Outcome<&'static Api> {
    static API: OnceLock<Outcome<Api>> = OnceLock::new();
    API.get_or_init(|| {
        let addresses = [GET_CURRENT, GET_HEAP_PROFILER, START, STOP, GET_PROFILE].map(symbol);
        let mut found = Vec::with_capacity(addresses.len());
        for address in addresses {
            found.push(address?);
        }
        let base = object_base(found[0]).ok_or_else(|| Unusable::new("cannot tell which object exports V8"))?;
        if found.iter().any(|&a| object_base(a) != Some(base)) {
            return Err(Unusable::new("V8's entry points come from different objects"));
        }
        // SAFETY: a function pointer must be non-null and point to a function of the
        // pointer's type. Each address is non-null (`symbol` refused 0) and is what dlsym
        // found for the exact Itanium-mangled name of that V8 function, all in the one
        // object that exports V8 (checked above); the mangled name fixes the C++ signature,
        // which each type spells as the Itanium ABI passes it (`this` first).
        unsafe {
            Ok(Api {
                get_current: std::mem::transmute::<usize, GetCurrent>(found[0]),
                get_heap_profiler: std::mem::transmute::<usize, GetHeapProfiler>(found[1]),
                start: std::mem::transmute::<usize, Start>(found[2]),
                stop: std::mem::transmute::<usize, Stop>(found[3]),
                get_profile: std::mem::transmute::<usize, GetProfile>(found[4]),
                base,
            })
        }
    })
    .as_ref()
    .map_err(Clone::clone)
}

fn heap_profiler(api: &Api) -> Outcome<*mut c_void> {
    // SAFETY: `get_current` is `v8::Isolate::GetCurrent` (see `api`), which takes no argument
    // and only reads a thread-local: callable on any thread (null where no isolate is
    // entered). Called here on the main thread, whose isolate is current.
    let isolate = unsafe { (api.get_current)() };
    if isolate.is_null() {
        return Err(Unusable::new("no V8 isolate on this thread"));
    }
    // SAFETY: `Isolate::GetHeapProfiler` needs a live isolate as `this`: the non-null
    // isolate current on this thread, which lives at least as long as this call from JS.
    let profiler = unsafe { (api.get_heap_profiler)(isolate) };
    if profiler.is_null() {
        return Err(Unusable::new("V8 has no heap profiler"));
    }
    Ok(profiler)
}

// ---- the layout of v8-profiler.h ----------------------------------------------------

/// `std::vector<T>` in libstdc++ and libc++: begin, end, end of capacity.
#[repr(C)]
struct RawVec {
    begin: usize,
    end: usize,
    capacity: usize,
}

/// `v8::AllocationProfile::Node`.
#[repr(C)]
struct RawNode {
    name: sys::napi_value,
    script_name: sys::napi_value,
    script_id: c_int,
    start_position: c_int,
    /// 1-based; 0 when unknown (`kNoLineNumberInfo`).
    line_number: c_int,
    column_number: c_int,
    node_id: u32,
    children: RawVec,
    allocations: RawVec,
}

/// `v8::AllocationProfile::Allocation`: `count` objects of `size` bytes (already scaled).
#[repr(C)]
struct RawAllocation {
    size: usize,
    count: u32,
}

/// `v8::AllocationProfile::Sample`, without V8 14's trailing `bool is_live`.
#[repr(C)]
struct RawSample {
    node_id: u32,
    size: usize,
    count: u32,
    sample_id: u64,
}

const _: () = assert!(std::mem::size_of::<RawNode>() == 88 && std::mem::size_of::<RawVec>() == 24);
const _: () = assert!(std::mem::size_of::<RawAllocation>() == 16 && std::mem::size_of::<RawSample>() == 32);

/// The two layouts of `Sample` V8 has had: 32 bytes, or 40 with `is_live` at offset 32.
const SAMPLE_STRIDES: [usize; 2] = [32, 40];
/// Bounds no real profile comes near; past them the data is not what we think it is.
const MAX_NODES: usize = 4_000_000;
const MAX_CHILDREN: usize = 1_000_000;
const MAX_SAMPLES: usize = 50_000_000;
const MAX_DEPTH: usize = 1024;
const MAX_SIZE: usize = 1 << 40;

/// What the self-check established for this process.
#[derive(Debug, Clone, Copy)]
struct Layout {
    /// The profile object's virtual table (`v8::internal::AllocationProfile`).
    vtable: usize,
    sample_stride: usize,
}

/// Native state, touched from the main thread only.
#[derive(Default)]
struct State {
    layout: Option<Layout>,
    /// Whether the profiler running now was started by `start` (or the check).
    running: bool,
    /// The isolate's heap profiler, once known (for `stop_at_teardown`).
    profiler: Option<usize>,
    names: NameCache,
}

fn state() -> std::sync::MutexGuard<'static, State> {
    static STATE: OnceLock<Mutex<State>> = OnceLock::new();
    STATE.get_or_init(Default::default).lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl RawVec {
    /// `(first element, count)` once the vector is sane for elements of `size` bytes.
    fn items(&self, size: usize, max: usize, what: &str) -> Outcome<(usize, usize)> {
        let bad = || Unusable::new(format!("the profile's {what} vector is not what V8's header describes"));
        if self.begin > self.end || self.end > self.capacity || !self.begin.is_multiple_of(8) {
            return Err(bad());
        }
        let bytes = self.end - self.begin;
        if !bytes.is_multiple_of(size) || bytes / size > max || (bytes > 0 && self.begin == 0) {
            return Err(bad());
        }
        Ok((self.begin, bytes / size))
    }
}

/// One node's own fields, bounded before any of its pointers is followed.
fn check_node(node: *const RawNode) -> Outcome<&'static RawNode> {
    if node.is_null() || !(node as usize).is_multiple_of(8) {
        return Err(Unusable::new("a profile node pointer is not a pointer"));
    }
    // SAFETY: `node` is non-null and 8-byte aligned (checked above) and points to a node of
    // the profile tree: the root V8's `GetRootNode` gave, or a child pointer read from a
    // checked children vector, in a profile whose virtual table (and so layout) was
    // verified. The tree lives until the profile is deleted (`OwnedProfile`'s drop), after
    // the callers (`read_tree`) are done with the nodes.
    let n = unsafe { &*node };
    let sane = n.script_id >= 0
        && n.start_position >= -1
        && n.line_number >= 0
        && n.column_number >= 0
        && !n.name.is_null()
        && !n.script_name.is_null();
    if !sane {
        return Err(Unusable::new("a profile node's fields are out of range"));
    }
    Ok(n)
}

// ---- strings --------------------------------------------------------------------------

/// Function names by (script, position) and script names by script: both fixed for the life
/// of a script. Bounded: cleared when it grows past `MAX_NAMES` (dynamic code).
#[derive(Default)]
struct NameCache {
    functions: HashMap<(c_int, c_int), String>,
    scripts: HashMap<c_int, String>,
}

const MAX_NAMES: usize = 100_000;

/// A JS string handle's text, through N-API.
fn js_string(env: sys::napi_env, value: sys::napi_value) -> Outcome<String> {
    let mut length = 0usize;
    // SAFETY: `value` is a live string handle of the current handle scope (checked by V8's
    // N-API, which answers napi_string_expected for anything else); a null buffer asks for
    // the length.
    let status = unsafe { sys::napi_get_value_string_utf8(env, value, std::ptr::null_mut(), 0, &mut length) };
    if status != sys::Status::napi_ok {
        return Err(Unusable::new("a profile node's name is not a string"));
    }
    let mut buffer = vec![0u8; length + 1];
    let mut written = 0usize;
    // SAFETY: the buffer holds length + 1 bytes.
    let status =
        unsafe { sys::napi_get_value_string_utf8(env, value, buffer.as_mut_ptr().cast(), buffer.len(), &mut written) };
    if status != sys::Status::napi_ok {
        return Err(Unusable::new("a profile node's name cannot be read"));
    }
    buffer.truncate(written.min(length));
    Ok(String::from_utf8(buffer).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

impl NameCache {
    fn names(&mut self, env: sys::napi_env, node: &RawNode) -> Outcome<(String, String)> {
        if node.script_id <= 0 {
            // No script (the root, "(V8 API)", "(GC)", builtins): few, and not unique by id.
            return Ok((js_string(env, node.name)?, js_string(env, node.script_name)?));
        }
        if self.functions.len() + self.scripts.len() > MAX_NAMES {
            self.functions.clear();
            self.scripts.clear();
        }
        let url = match self.scripts.get(&node.script_id) {
            Some(url) => url.clone(),
            None => {
                let url = js_string(env, node.script_name)?;
                self.scripts.insert(node.script_id, url.clone());
                url
            }
        };
        let key = (node.script_id, node.start_position);
        let name = match self.functions.get(&key) {
            Some(name) => name.clone(),
            None => {
                let name = js_string(env, node.name)?;
                self.functions.insert(key, name.clone());
                name
            }
        };
        Ok((name, url))
    }
}

// ---- reading a profile ---------------------------------------------------------------

/// An N-API handle scope for the handles V8 creates while it builds a profile.
struct HandleScope {
    env: sys::napi_env,
    scope: sys::napi_handle_scope,
}

impl HandleScope {
    fn open(env: sys::napi_env) -> Outcome<Self> {
        let mut scope = std::ptr::null_mut();
        // SAFETY: a live env on its own thread.
        if unsafe { sys::napi_open_handle_scope(env, &mut scope) } != sys::Status::napi_ok {
            return Err(Unusable::new("cannot open a handle scope"));
        }
        Ok(HandleScope { env, scope })
    }
}

impl Drop for HandleScope {
    fn drop(&mut self) {
        // SAFETY: the scope opened in `open`, closed once, innermost (nothing opened since).
        unsafe { sys::napi_close_handle_scope(self.env, self.scope) };
    }
}

/// An `AllocationProfile*` owned by us (V8 hands over ownership); deleted through its
/// virtual destructor, once its virtual table was found to be V8's.
struct OwnedProfile {
    object: *mut c_void,
    vtable: *const usize,
}

impl OwnedProfile {
    /// Slots of `v8::AllocationProfile`'s virtual table in declaration order (Itanium ABI):
    /// GetRootNode, GetSamples, the complete-object destructor, the deleting destructor.
    const GET_ROOT: usize = 0;
    const GET_SAMPLES: usize = 1;
    const DELETE: usize = 3;

    fn slot(&self, index: usize) -> usize {
        // SAFETY: `index` is one of the slot constants (at most `DELETE` = 3) and the table
        // has at least four slots: it is the table `verify_vtable` read slots 0..=3 of (or
        // the same table, found equal to the verified one by `take_profile`).
        unsafe { *self.vtable.add(index) }
    }

    fn root(&self) -> *const RawNode {
        // SAFETY: slot 0 of the verified table is `AllocationProfile::GetRootNode`, a
        // function of the `GetRoot` type (`this` first); `self.object` is the live profile.
        unsafe { std::mem::transmute::<usize, GetRoot>(self.slot(Self::GET_ROOT))(self.object) }
    }

    fn samples(&self) -> *const RawVec {
        // SAFETY: slot 1 of the verified table is `AllocationProfile::GetSamples`, a
        // function of the `GetSamples` type (`this` first); `self.object` is the live profile.
        unsafe { std::mem::transmute::<usize, GetSamples>(self.slot(Self::GET_SAMPLES))(self.object) }
    }
}

impl Drop for OwnedProfile {
    fn drop(&mut self) {
        // SAFETY: slot 3 of the verified table is the deleting destructor, of the `Delete`
        // type; `self.object` is the profile V8 allocated and handed over to us, and this
        // drop is the only place that deletes it (once: `OwnedProfile` is not `Clone`).
        unsafe { std::mem::transmute::<usize, Delete>(self.slot(Self::DELETE))(self.object) }
    }
}

/// The profile now, or None when no sampling profiler runs (someone stopped it). The
/// virtual table must be `expected` (the verified one), or, during the check, point into
/// the executable that exports V8.
fn take_profile(api: &Api, profiler: *mut c_void, expected: Option<usize>) -> Outcome<Option<OwnedProfile>> {
    // SAFETY: `profiler` is the live heap profiler of the current isolate (`heap_profiler`),
    // the `this` GetAllocationProfile needs. It allocates the result (null when no sampler
    // runs) and does not collect (the profiler was started without kSamplingForceGC).
    let object = unsafe { (api.get_profile)(profiler) };
    if object.is_null() {
        return Ok(None);
    }
    if !(object as usize).is_multiple_of(8) {
        return Err(Unusable::new("GetAllocationProfile returned a misaligned object"));
    }
    // SAFETY: `object` is non-null and 8-byte aligned (checked above) and is a live
    // `AllocationProfile` (a C++ object with virtual functions): its first word, readable,
    // is its virtual table pointer.
    let vtable = unsafe { *(object as *const usize) };
    let known = match expected {
        Some(v) => vtable == v,
        None => verify_vtable(api, vtable),
    };
    if !known {
        // Not deleted: we cannot call into a table we do not trust (a leak of one profile).
        return Err(Unusable::new("the profile's virtual table is not V8's"));
    }
    Ok(Some(OwnedProfile { object, vtable: vtable as *const usize }))
}

/// Every slot we call points into the executable that exports V8.
fn verify_vtable(api: &Api, vtable: usize) -> bool {
    if vtable == 0 || !vtable.is_multiple_of(8) || object_base(vtable) != Some(api.base) {
        return false;
    }
    (0..=OwnedProfile::DELETE).all(|i| {
        // SAFETY: `vtable` is non-null, 8-byte aligned and inside the mapped image of the
        // object that exports V8 (checked above), where the profile's virtual table lives;
        // `i <= DELETE` (3), within the table's first four slots, all in that image.
        let slot = unsafe { *(vtable as *const usize).add(i) };
        slot != 0 && object_base(slot) == Some(api.base)
    })
}

/// One node of the tree as read, with what the check needs.
struct Visit {
    node_id: u64,
    name: String,
    url: String,
    line: i64,
    allocations: u64,
}

/// The tree under `root` as the inspector would report it (lines and columns 0-based,
/// `selfSize` the sum of the node's scaled allocations). `visit` sees each node.
fn read_tree(
    env: sys::napi_env,
    root: *const RawNode,
    names: &mut NameCache,
    visit: &mut dyn FnMut(Visit),
) -> Outcome<ProfileNode> {
    let mut count = 0usize;
    read_node(env, root, names, visit, 0, &mut count)
}

fn read_node(
    env: sys::napi_env,
    node: *const RawNode,
    names: &mut NameCache,
    visit: &mut dyn FnMut(Visit),
    depth: usize,
    count: &mut usize,
) -> Outcome<ProfileNode> {
    *count += 1;
    if depth > MAX_DEPTH || *count > MAX_NODES {
        return Err(Unusable::new("the profile tree is deeper or larger than any profile"));
    }
    let raw = check_node(node)?;
    let (first, n) = raw.allocations.items(std::mem::size_of::<RawAllocation>(), MAX_CHILDREN, "allocations")?;
    let mut self_size = 0.0;
    let mut allocations = 0u64;
    for i in 0..n {
        // SAFETY: `items` checked the vector: `first` is non-null and 8-byte aligned and
        // `n` records of `size_of::<RawAllocation>()` bytes end at its `end`; `i < n`.
        let a = unsafe { &*((first + i * std::mem::size_of::<RawAllocation>()) as *const RawAllocation) };
        if a.size > MAX_SIZE {
            return Err(Unusable::new("an allocation size is out of range"));
        }
        self_size += a.size as f64 * a.count as f64;
        allocations += a.count as u64;
    }
    let (children_at, children) = raw.children.items(8, MAX_CHILDREN, "children")?;
    let (function_name, url) = names.names(env, raw)?;
    visit(Visit {
        node_id: raw.node_id as u64,
        name: function_name.clone(),
        url: url.clone(),
        line: raw.line_number as i64,
        allocations,
    });
    let mut kids = Vec::with_capacity(children);
    for i in 0..children {
        // SAFETY: `items` checked the vector: `children_at` is non-null and 8-byte aligned
        // and `children` pointers of 8 bytes end at its `end`; `i < children`.
        let child = unsafe { *((children_at + i * 8) as *const *const RawNode) };
        kids.push(read_node(env, child, names, visit, depth + 1, count)?);
    }
    Ok(ProfileNode {
        call_frame: CallFrame {
            function_name,
            script_id: raw.script_id.to_string(),
            url,
            line_number: raw.line_number as i64 - 1,
            column_number: raw.column_number as i64 - 1,
        },
        self_size,
        id: raw.node_id as u64,
        children: kids,
    })
}

/// The samples vector read with `stride`, if every sample is sane for it: a size and count in
/// range, and for the 40-byte layout `is_live` set (only live samples are reported without
/// V8's include flags). Samples of nodes not in the tree are left out and counted: V8 can take
/// samples while it builds the profile (its own strings), under nodes it adds meanwhile
/// (`SamplingHeapProfiler::TranslateAllocationNode` says so); the next read has them.
fn read_samples(samples: &RawVec, stride: usize, nodes: &HashSet<u64>) -> Outcome<(Vec<Sample>, usize)> {
    let (first, n) = samples.items(stride, MAX_SAMPLES, "samples")?;
    let bad = || Unusable::new(format!("the samples do not read as {stride}-byte records"));
    let mut out = Vec::with_capacity(n);
    let mut unknown = 0;
    for i in 0..n {
        let at = first + i * stride;
        // SAFETY: `items` checked the vector: `first` is non-null and 8-byte aligned and `n`
        // records of `stride` (32 or 40) bytes end at its `end`; `i < n`, and a `RawSample`
        // (32 bytes, 8-aligned) fits in each record.
        let s = unsafe { &*(at as *const RawSample) };
        if s.size == 0 || s.size > MAX_SIZE || s.count == 0 {
            return Err(bad());
        }
        // SAFETY: with a 40-byte stride, byte 32 of record `i` is inside it (see above).
        if stride == 40 && unsafe { *((at + 32) as *const u8) } != 1 {
            return Err(bad());
        }
        if !nodes.contains(&(s.node_id as u64)) {
            unknown += 1;
            continue;
        }
        out.push(Sample {
            size: s.size as f64 * s.count as f64,
            node_id: s.node_id as u64,
            ordinal: s.sample_id as f64,
        });
    }
    Ok((out, unknown))
}

/// Samples of nodes V8 added while building the profile are few: past this, the records are
/// not what we read them as.
fn few_unknown(known: usize, unknown: usize) -> bool {
    unknown <= 16.max((known + unknown) / 100)
}

/// Samples whose ids repeat are not samples.
fn distinct_ordinals(samples: &[Sample]) -> bool {
    let mut ids: Vec<u64> = samples.iter().map(|s| s.ordinal as u64).collect();
    ids.sort_unstable();
    ids.windows(2).all(|w| w[0] != w[1])
}

// ---- the self-check --------------------------------------------------------------------

/// The sampling interval of the check: fine, so a few hundred KB of the probe's
/// allocations give hundreds of samples.
const CHECK_INTERVAL: u64 = 512;
const CHECK_DEPTH: c_int = 8;
/// The probe function must own at least this many samples.
const CHECK_MIN_SAMPLES: usize = 20;

/// Step 1 of the self-check: start the profiler at a fine interval for the probe. Ok(false)
/// when a sampling profiler already runs (someone else's: the check waits for it to stop).
pub fn check_begin() -> Outcome<bool> {
    let api = api()?;
    let mut state = state();
    if state.layout.is_some() {
        return Ok(true);
    }
    let profiler = heap_profiler(api)?;
    // SAFETY: `profiler` is the live heap profiler of the current isolate (`heap_profiler`),
    // the `this` StartSamplingHeapProfiler needs; it returns false when a sampler already runs.
    let started = unsafe { (api.start)(profiler, CHECK_INTERVAL, CHECK_DEPTH, NO_FLAGS) };
    state.running = started;
    state.profiler = Some(profiler as usize);
    Ok(started)
}

/// Step 2, after JS allocated from the probe: the profile read natively must hold the
/// function `name`, every node of it in `file` at 1-based `line`, with samples; the sample layout must
/// be the one of the two V8 has had that the data fits. Stops the check's profiler.
pub fn check_end(env: sys::napi_env, name: &str, file: &str, line: i64) -> Outcome<()> {
    let api = api()?;
    let mut state = state();
    if state.layout.is_some() {
        return Ok(());
    }
    if !state.running {
        return Err(Unusable::new("the self-check's profiler is not running"));
    }
    let profiler = heap_profiler(api)?;
    let result = verify(env, api, profiler, name, file, line, &mut state.names);
    // SAFETY: `profiler` is the live heap profiler of the current isolate (`heap_profiler`);
    // this stops the sampler the check started.
    unsafe { (api.stop)(profiler) };
    state.running = false;
    state.names = NameCache::default();
    state.layout = Some(result?);
    Ok(())
}

fn verify(
    env: sys::napi_env,
    api: &Api,
    profiler: *mut c_void,
    name: &str,
    file: &str,
    line: i64,
    names: &mut NameCache,
) -> Outcome<Layout> {
    let _scope = HandleScope::open(env)?;
    let profile = take_profile(api, profiler, None)?.ok_or_else(|| Unusable::new("the check's profiler stopped"))?;
    let mut probes = Vec::new();
    let mut nodes = HashSet::new();
    let mut root_name = None;
    read_tree(env, profile.root(), names, &mut |v: Visit| {
        root_name.get_or_insert_with(|| v.name.clone());
        nodes.insert(v.node_id);
        if v.name == name {
            probes.push(v);
        }
    })?;
    if root_name.as_deref() != Some("(root)") {
        return Err(Unusable::new(format!("the profile's root is {root_name:?}, not \"(root)\"")));
    }
    // The probe may sit under more than one path (its callers differ between the
    // interpreter's and optimised code's frames); every node of it must read as expected.
    if probes.is_empty() {
        return Err(Unusable::new(format!("the probe function {name} is not in the profile read natively")));
    }
    if let Some(off) = probes.iter().find(|p| p.url != file || p.line != line) {
        return Err(Unusable::new(format!("the probe reads as {}:{}, expected {file}:{line}", off.url, off.line)));
    }
    if probes.iter().all(|p| p.allocations == 0) {
        return Err(Unusable::new("the probe function has no allocations in the profile"));
    }
    let probe_ids: HashSet<u64> = probes.iter().map(|p| p.node_id).collect();
    // SAFETY: GetSamples returns a reference (non-null, aligned) to the profile's own
    // vector, which lives as long as `profile`, which outlives `raw_samples` here.
    let raw_samples = unsafe { &*profile.samples() };
    let fits: Vec<(usize, Vec<Sample>)> = SAMPLE_STRIDES
        .iter()
        .filter_map(|&stride| read_samples(raw_samples, stride, &nodes).ok().map(|s| (stride, s)))
        .filter(|(_, (s, unknown))| few_unknown(s.len(), *unknown))
        .map(|(stride, (s, _))| (stride, s))
        .filter(|(_, s)| {
            distinct_ordinals(s) && s.iter().filter(|x| probe_ids.contains(&x.node_id)).count() >= CHECK_MIN_SAMPLES
        })
        .collect();
    match fits.as_slice() {
        [(stride, _)] => Ok(Layout { vtable: profile.vtable as usize, sample_stride: *stride }),
        [] => Err(Unusable::new("the samples fit no known layout of v8::AllocationProfile::Sample")),
        _ => Err(Unusable::new("the samples fit more than one layout of v8::AllocationProfile::Sample")),
    }
}

// ---- the sampler ---------------------------------------------------------------------------

/// Start sampling every `interval` bytes with `stack_depth` frames, without forced GCs.
/// Ok(false) when a sampling profiler already runs (someone else's). Refuses until the
/// self-check passed.
pub fn start(interval: u64, stack_depth: u32) -> Outcome<bool> {
    let api = api()?;
    let mut state = state();
    if state.layout.is_none() {
        return Err(Unusable::new("the native sampler was not verified in this process"));
    }
    let profiler = heap_profiler(api)?;
    let depth = stack_depth.clamp(1, 128) as c_int;
    // SAFETY: `profiler` is the live heap profiler of the current isolate (`heap_profiler`),
    // the `this` StartSamplingHeapProfiler needs.
    let started = unsafe { (api.start)(profiler, interval.max(1), depth, NO_FLAGS) };
    state.running = started;
    state.profiler = Some(profiler as usize);
    Ok(started)
}

/// Stop our sampler before the isolate is torn down. V8 13.6 (Node 24) crashes in
/// `Isolate::Deinit` when a sampling heap profiler still runs then (its destructor frees
/// global handles after they are gone); the inspector route never met it because the
/// inspector stops its sampler first. Called from the environment's cleanup hook, when the
/// isolate is alive but may not be current: the profiler pointer is the one remembered.
pub fn stop_at_teardown() {
    let Ok(api) = api() else { return };
    let mut state = state();
    if let (true, Some(profiler)) = (state.running, state.profiler) {
        // SAFETY: the remembered pointer is the heap profiler of this environment's isolate
        // (set by `start` or `check_begin` on the main thread); this runs from the
        // environment's cleanup hook, before the isolate is disposed, so it is still alive.
        unsafe { (api.stop)(profiler as *mut c_void) };
        state.running = false;
    }
}

/// Stop the profiler (shared by the isolate: whoever started it).
pub fn stop() -> Outcome<()> {
    let api = api()?;
    let profiler = heap_profiler(api)?;
    // SAFETY: `profiler` is the live heap profiler of the current isolate (`heap_profiler`);
    // stopping when no sampler runs is a no-op in V8.
    unsafe { (api.stop)(profiler) };
    state().running = false;
    Ok(())
}

/// The profile now, as the inspector would give it, without a GC; None when no sampling
/// profiler runs (someone stopped it).
pub fn read(env: sys::napi_env) -> Outcome<Option<HeapProfile>> {
    let api = api()?;
    let mut state = state();
    let layout = state.layout.ok_or_else(|| Unusable::new("the native sampler was not verified in this process"))?;
    let profiler = heap_profiler(api)?;
    let _scope = HandleScope::open(env)?;
    let Some(profile) = take_profile(api, profiler, Some(layout.vtable))? else {
        state.running = false;
        return Ok(None);
    };
    let mut nodes = HashSet::new();
    let head = read_tree(env, profile.root(), &mut state.names, &mut |v: Visit| {
        nodes.insert(v.node_id);
    })?;
    // SAFETY: GetSamples returns a reference (non-null, aligned) to the profile's own
    // vector, which lives as long as `profile`, alive until the end of this function.
    let (samples, unknown) = read_samples(unsafe { &*profile.samples() }, layout.sample_stride, &nodes)?;
    if !few_unknown(samples.len(), unknown) {
        return Err(Unusable::new(format!("{unknown} of the profile's samples name no node of its tree")));
    }
    Ok(Some(HeapProfile { head, samples }))
}
