//! The API-format workflow ("Save (API)" in ComfyUI): reading it, finding
//! the nodes latina fills, and filling them for one variant. Pure: no I/O.
//!
//! Nodes are found by `class_type`, and by `_meta.title` where the config
//! names one or several nodes of a class match. The positive and negative
//! prompts are not guessed by order: they are the `CLIPTextEncode` nodes the
//! sampler's `positive` and `negative` inputs lead to, following the links
//! (`["node_id", slot]`) back through conditioning nodes such as
//! `ControlNetApplyAdvanced` (whose output 0 carries its `positive` input
//! and output 1 its `negative`).

use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// The shipped workflow: SD1.5 img2img (`VAEEncode` of the photo into
/// `KSampler`) with a depth ControlNet (`MiDaS-DepthMapPreprocessor` from
/// comfyui_controlnet_aux, `control_v11f1p_sd15_depth.pth`).
pub const DEFAULT_WORKFLOW: &str = include_str!("default_workflow.json");

/// The node classes whose `strength` is the structure weight.
const CONTROLNET_APPLY: [&str; 2] = ["ControlNetApplyAdvanced", "ControlNetApply"];

/// Inputs that name a model file, checked by `doctor` against the server's
/// lists (`/object_info`: `input.required.<name>[0]`).
const MODEL_INPUTS: [&str; 6] = [
    "ckpt_name",
    "control_net_name",
    "vae_name",
    "lora_name",
    "unet_name",
    "clip_name",
];

/// The `_meta.title`s that pick a node where the class alone does not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Titles {
    /// The positive `CLIPTextEncode` (else: followed from the sampler).
    pub positive: Option<String>,
    /// The negative `CLIPTextEncode` (else: followed from the sampler).
    pub negative: Option<String>,
    /// The `KSampler`, when there are several.
    pub sampler: Option<String>,
    /// The `LoadImage` that receives the photo, when there are several.
    pub image: Option<String>,
}

/// The ids of the nodes latina fills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slots {
    /// `LoadImage`: `image` ← the uploaded name.
    pub load_image: String,
    /// `CLIPTextEncode`: `text` ← the prompt.
    pub positive: String,
    /// `CLIPTextEncode`: `text` ← the negative prompt; `None` when the
    /// sampler's negative input does not come from a text encoder (the
    /// negative prompt is then not used).
    pub negative: Option<String>,
    /// `KSampler`: `denoise`, `cfg`, `seed`.
    pub sampler: String,
    /// Every `ControlNetApplyAdvanced` / `ControlNetApply`: `strength`
    /// (empty: the workflow has no structure weight).
    pub controlnets: Vec<String>,
    /// `SaveImage`: where the render is read from in `/history`.
    pub save: String,
}

/// One variant's values.
#[derive(Debug, Clone, PartialEq)]
pub struct Fill<'a> {
    /// The name `POST /upload/image` returned.
    pub image: &'a str,
    /// The positive prompt.
    pub positive: &'a str,
    /// The negative prompt.
    pub negative: &'a str,
    /// `KSampler.denoise` (init_strength), clamped to 0–1.
    pub denoise: f64,
    /// `KSampler.cfg` (guidance_scale), clamped to 0–100.
    pub cfg: f64,
    /// `KSampler.seed`.
    pub seed: u64,
    /// ControlNet `strength` (controlnet_weight), clamped to 0–10.
    pub strength: f64,
}

/// A model file a node names, for `doctor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRef {
    /// The node's id.
    pub node: String,
    /// Its `class_type`.
    pub class: String,
    /// The input, e.g. `ckpt_name`.
    pub input: String,
    /// The file name.
    pub name: String,
}

/// A workflow understood: the graph and the nodes to fill.
#[derive(Debug, Clone, PartialEq)]
pub struct Workflow {
    graph: Map<String, Value>,
    /// The nodes latina fills.
    pub slots: Slots,
}

impl Workflow {
    /// Reads an API-format workflow and finds its nodes.
    ///
    /// # Errors
    /// A sentence saying what is wrong: not JSON, the UI format instead of
    /// the API format, a node without `class_type`, or a required node
    /// (`LoadImage`, `KSampler`, the positive `CLIPTextEncode`, `SaveImage`)
    /// missing or ambiguous, naming the node class.
    pub fn parse(text: &str, titles: &Titles) -> Result<Workflow, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            format!(
                "not valid JSON (line {}, column {}: {e})",
                e.line(),
                e.column()
            )
        })?;
        let Value::Object(graph) = value else {
            return Err("expected a JSON object of nodes (\"Save (API)\" format)".into());
        };
        if graph.contains_key("nodes") && graph.contains_key("links") {
            return Err(
                "this is the UI format; export the workflow with \"Save (API)\" instead".into(),
            );
        }
        for (id, node) in &graph {
            let class = node.get("class_type").and_then(Value::as_str);
            let inputs = node.get("inputs").map(Value::is_object);
            if class.is_none() || inputs != Some(true) {
                return Err(format!(
                    "node {id:?} has no class_type and inputs object (\"Save (API)\" format expected)"
                ));
            }
        }
        let sampler = pick(
            &graph,
            &["KSampler"],
            titles.sampler.as_deref(),
            "sampler_title",
        )?;
        let load_image = pick(
            &graph,
            &["LoadImage"],
            titles.image.as_deref(),
            "image_title",
        )?;
        let save = nodes_of(&graph, &["SaveImage"])
            .into_iter()
            .next()
            .ok_or("the workflow has no SaveImage node (where the render is read from)")?;
        let positive = match &titles.positive {
            Some(t) => pick(&graph, &["CLIPTextEncode"], Some(t), "positive_title")?,
            None => trace(&graph, &sampler, "positive")?,
        };
        let negative = match &titles.negative {
            Some(t) => Some(pick(
                &graph,
                &["CLIPTextEncode"],
                Some(t),
                "negative_title",
            )?),
            None => trace(&graph, &sampler, "negative").ok(),
        };
        if negative.as_deref() == Some(positive.as_str()) {
            return Err(format!(
                "the positive and negative prompts lead to the same CLIPTextEncode node {positive:?}; set positive_title and negative_title"
            ));
        }
        let controlnets = nodes_of(&graph, &CONTROLNET_APPLY);
        Ok(Workflow {
            slots: Slots {
                load_image,
                positive,
                negative,
                sampler,
                controlnets,
                save,
            },
            graph,
        })
    }

    /// Sets `input` of every node of `class` to `value` (the config's
    /// checkpoint or ControlNet model); returns how many nodes changed.
    pub fn set_all(&mut self, class: &str, input: &str, value: &str) -> usize {
        let mut changed = 0;
        for node in self.graph.values_mut() {
            if node.get("class_type").and_then(Value::as_str) == Some(class)
                && let Some(inputs) = node.get_mut("inputs").and_then(Value::as_object_mut)
            {
                inputs.insert(input.into(), value.into());
                changed += 1;
            }
        }
        changed
    }

    /// The workflow to submit for one variant.
    pub fn fill(&self, f: &Fill) -> Value {
        let mut graph = self.graph.clone();
        let s = &self.slots;
        set(&mut graph, &s.load_image, "image", f.image.into());
        set(&mut graph, &s.positive, "text", f.positive.into());
        if let Some(negative) = &s.negative {
            set(&mut graph, negative, "text", f.negative.into());
        }
        set(
            &mut graph,
            &s.sampler,
            "denoise",
            f.denoise.clamp(0.0, 1.0).into(),
        );
        set(
            &mut graph,
            &s.sampler,
            "cfg",
            f.cfg.clamp(0.0, 100.0).into(),
        );
        set(&mut graph, &s.sampler, "seed", f.seed.into());
        for id in &s.controlnets {
            set(
                &mut graph,
                id,
                "strength",
                f.strength.clamp(0.0, 10.0).into(),
            );
        }
        Value::Object(graph)
    }

    /// Every `class_type` the workflow uses, sorted.
    pub fn classes(&self) -> BTreeSet<String> {
        self.graph
            .values()
            .filter_map(|n| n.get("class_type")?.as_str().map(str::to_string))
            .collect()
    }

    /// The model files the workflow names (checkpoints, ControlNets, …).
    pub fn models(&self) -> Vec<ModelRef> {
        let mut found = Vec::new();
        for (id, node) in &self.graph {
            let class = node.get("class_type").and_then(Value::as_str).unwrap_or("");
            let Some(inputs) = node.get("inputs").and_then(Value::as_object) else {
                continue;
            };
            for input in MODEL_INPUTS {
                if let Some(name) = inputs.get(input).and_then(Value::as_str) {
                    found.push(ModelRef {
                        node: id.clone(),
                        class: class.to_string(),
                        input: input.to_string(),
                        name: name.to_string(),
                    });
                }
            }
        }
        found
    }
}

fn class_of<'a>(graph: &'a Map<String, Value>, id: &str) -> Option<&'a str> {
    graph.get(id)?.get("class_type")?.as_str()
}

fn title_of<'a>(graph: &'a Map<String, Value>, id: &str) -> Option<&'a str> {
    graph.get(id)?.get("_meta")?.get("title")?.as_str()
}

/// The ids of the nodes of any of `classes`, in numeric order where ids
/// are numbers ("2" before "10").
fn nodes_of(graph: &Map<String, Value>, classes: &[&str]) -> Vec<String> {
    let mut ids: Vec<String> = graph
        .keys()
        .filter(|id| class_of(graph, id).is_some_and(|c| classes.contains(&c)))
        .cloned()
        .collect();
    ids.sort_by_key(|id| (id.parse::<u64>().unwrap_or(u64::MAX), id.clone()));
    ids
}

/// The one node of `classes` (titled `title` when given).
fn pick(
    graph: &Map<String, Value>,
    classes: &[&str],
    title: Option<&str>,
    key: &str,
) -> Result<String, String> {
    let class = classes.join(" or ");
    let all = nodes_of(graph, classes);
    if all.is_empty() {
        return Err(format!("the workflow has no {class} node"));
    }
    let matching: Vec<String> = match title {
        Some(t) => all
            .iter()
            .filter(|id| title_of(graph, id) == Some(t))
            .cloned()
            .collect(),
        None => all.clone(),
    };
    match (matching.len(), title) {
        (1, _) => Ok(matching[0].clone()),
        (0, Some(t)) => {
            let titles: Vec<&str> = all.iter().filter_map(|id| title_of(graph, id)).collect();
            Err(format!(
                "no {class} node is titled {t:?} ({key}); its titles: {titles:?}"
            ))
        }
        (n, _) => Err(format!(
            "the workflow has {n} {class} nodes ({}); set {key} to the _meta.title of the one to fill",
            matching.join(", ")
        )),
    }
}

/// The `CLIPTextEncode` that the input `input` of node `from` leads to.
fn trace(graph: &Map<String, Value>, from: &str, input: &str) -> Result<String, String> {
    let (mut id, mut slot) = link(graph, from, input).ok_or_else(|| {
        format!("the KSampler's {input} input is not linked to a node; set {input}_title")
    })?;
    // A graph has no cycles, but a hand-edited file might: bounded.
    for _ in 0..64 {
        let class = class_of(graph, &id).ok_or_else(|| {
            format!(
                "the KSampler's {input} input links to node {id:?}, which is not in the workflow"
            )
        })?;
        if class == "CLIPTextEncode" {
            return Ok(id);
        }
        let inputs = graph[&id]["inputs"].as_object();
        let has = |name: &str| inputs.is_some_and(|i| i.contains_key(name));
        let next = if has("positive") && has("negative") {
            if slot == 0 { "positive" } else { "negative" }
        } else if let Some(name) = ["conditioning", "conditioning_to", "conditioning_1"]
            .into_iter()
            .find(|n| has(n))
        {
            name
        } else {
            return Err(format!(
                "the {input} prompt passes through node {id:?} ({class}), which latina cannot follow; set {input}_title to the CLIPTextEncode's title"
            ));
        };
        (id, slot) = link(graph, &id, next).ok_or_else(|| {
            format!("node {id:?} ({class}) has no linked {next} input; set {input}_title")
        })?;
    }
    Err(format!("the {input} conditioning forms a loop"))
}

/// The `["node_id", slot]` link in `input` of node `id`.
fn link(graph: &Map<String, Value>, id: &str, input: &str) -> Option<(String, u64)> {
    let pair = graph.get(id)?.get("inputs")?.get(input)?.as_array()?;
    match pair.as_slice() {
        [Value::String(node), slot] => Some((node.clone(), slot.as_u64()?)),
        [node @ Value::Number(_), slot] => Some((node.to_string(), slot.as_u64()?)),
        _ => None,
    }
}

fn set(graph: &mut Map<String, Value>, id: &str, input: &str, value: Value) {
    if let Some(inputs) = graph
        .get_mut(id)
        .and_then(|n| n.get_mut("inputs"))
        .and_then(Value::as_object_mut)
    {
        inputs.insert(input.into(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fill() -> Fill<'static> {
        Fill {
            image: "room (1).png",
            positive: "a bright scandinavian living room",
            negative: "blurry, distorted",
            denoise: 0.35,
            cfg: 8.5,
            seed: 123_456_789,
            strength: 0.9,
        }
    }

    #[test]
    fn the_shipped_workflow_is_found_and_filled_at_its_nodes() {
        let wf = Workflow::parse(DEFAULT_WORKFLOW, &Titles::default()).unwrap();
        assert_eq!(
            wf.slots,
            Slots {
                load_image: "2".into(),
                positive: "4".into(),
                negative: Some("5".into()),
                sampler: "9".into(),
                controlnets: vec!["8".into()],
                save: "11".into(),
            }
        );
        let g = wf.fill(&fill());
        assert_eq!(g["2"]["inputs"]["image"], "room (1).png");
        assert_eq!(
            g["4"]["inputs"]["text"],
            "a bright scandinavian living room"
        );
        assert_eq!(g["5"]["inputs"]["text"], "blurry, distorted");
        assert_eq!(g["9"]["inputs"]["denoise"], 0.35);
        assert_eq!(g["9"]["inputs"]["cfg"], 8.5);
        assert_eq!(g["9"]["inputs"]["seed"], 123_456_789u64);
        assert_eq!(g["8"]["inputs"]["strength"], 0.9);
        // Links and untouched values stay as exported.
        assert_eq!(g["9"]["inputs"]["latent_image"], json!(["3", 0]));
        assert_eq!(g["9"]["inputs"]["steps"], 25);
        let classes: Vec<String> = wf.classes().into_iter().collect();
        assert_eq!(
            classes,
            [
                "CLIPTextEncode",
                "CheckpointLoaderSimple",
                "ControlNetApplyAdvanced",
                "ControlNetLoader",
                "KSampler",
                "LoadImage",
                "MiDaS-DepthMapPreprocessor",
                "SaveImage",
                "VAEDecode",
                "VAEEncode",
            ]
        );
        let models: Vec<(String, String)> =
            wf.models().into_iter().map(|m| (m.input, m.name)).collect();
        assert_eq!(
            models,
            [
                (
                    "ckpt_name".to_string(),
                    "v1-5-pruned-emaonly.safetensors".to_string()
                ),
                (
                    "control_net_name".to_string(),
                    "control_v11f1p_sd15_depth.pth".to_string()
                ),
            ]
        );
    }

    /// A hand-written graph where the negative encoder has the lower id and
    /// the conditioning passes through a plain `ControlNetApply` and a
    /// `ControlNetApplyAdvanced`: positive is found by the links, not order.
    fn hand_written() -> Value {
        json!({
            "10": {"class_type": "CLIPTextEncode", "inputs": {"text": "neg", "clip": ["30", 1]}},
            "20": {"class_type": "CLIPTextEncode", "inputs": {"text": "pos", "clip": ["30", 1]}},
            "30": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sdxl.safetensors"}},
            "40": {"class_type": "ControlNetApply", "inputs": {"conditioning": ["20", 0], "control_net": ["41", 0], "image": ["50", 0], "strength": 1.0}},
            "41": {"class_type": "ControlNetLoader", "inputs": {"control_net_name": "canny.safetensors"}},
            "42": {"class_type": "ControlNetApplyAdvanced", "inputs": {"positive": ["40", 0], "negative": ["10", 0], "control_net": ["41", 0], "image": ["50", 0], "strength": 1.0, "start_percent": 0.0, "end_percent": 1.0}},
            "50": {"class_type": "LoadImage", "inputs": {"image": "x.png"}, "_meta": {"title": "photo"}},
            "51": {"class_type": "LoadImage", "inputs": {"image": "style.png"}, "_meta": {"title": "style"}},
            "60": {"class_type": "KSampler", "inputs": {"positive": ["42", 0], "negative": ["42", 1], "seed": 1, "cfg": 1.0, "denoise": 1.0}},
            "70": {"class_type": "SaveImage", "inputs": {"images": ["60", 0]}}
        })
    }

    #[test]
    fn prompts_are_followed_through_conditioning_links_and_titles_pick_among_several() {
        let text = hand_written().to_string();
        let msg = Workflow::parse(&text, &Titles::default()).unwrap_err();
        assert!(
            msg.contains("2 LoadImage nodes (50, 51)") && msg.contains("image_title"),
            "{msg}"
        );
        let titles = Titles {
            image: Some("photo".into()),
            ..Titles::default()
        };
        let wf = Workflow::parse(&text, &titles).unwrap();
        assert_eq!(wf.slots.positive, "20");
        assert_eq!(wf.slots.negative.as_deref(), Some("10"));
        assert_eq!(wf.slots.load_image, "50");
        assert_eq!(wf.slots.controlnets, ["40", "42"]);
        let g = wf.fill(&Fill {
            strength: 0.75,
            ..fill()
        });
        assert_eq!(
            g["20"]["inputs"]["text"],
            "a bright scandinavian living room"
        );
        assert_eq!(g["10"]["inputs"]["text"], "blurry, distorted");
        assert_eq!(g["40"]["inputs"]["strength"], 0.75);
        assert_eq!(g["42"]["inputs"]["strength"], 0.75);
        assert_eq!(g["51"]["inputs"]["image"], "style.png");
        // Titles override the links.
        let mut swapped = hand_written();
        swapped["10"]["_meta"] = json!({"title": "P"});
        swapped["20"]["_meta"] = json!({"title": "N"});
        let titles = Titles {
            positive: Some("P".into()),
            negative: Some("N".into()),
            image: Some("photo".into()),
            ..Titles::default()
        };
        let wf = Workflow::parse(&swapped.to_string(), &titles).unwrap();
        assert_eq!(
            (wf.slots.positive.as_str(), wf.slots.negative.as_deref()),
            ("10", Some("20"))
        );
    }

    #[test]
    fn knob_values_are_clamped_to_the_nodes_ranges() {
        let wf = Workflow::parse(DEFAULT_WORKFLOW, &Titles::default()).unwrap();
        let g = wf.fill(&Fill {
            denoise: 1.7,
            cfg: 250.0,
            strength: -1.0,
            ..fill()
        });
        assert_eq!(g["9"]["inputs"]["denoise"], 1.0);
        assert_eq!(g["9"]["inputs"]["cfg"], 100.0);
        assert_eq!(g["8"]["inputs"]["strength"], 0.0);
    }

    #[test]
    fn models_named_in_the_config_replace_the_workflows() {
        let mut wf = Workflow::parse(DEFAULT_WORKFLOW, &Titles::default()).unwrap();
        assert_eq!(
            wf.set_all(
                "CheckpointLoaderSimple",
                "ckpt_name",
                "dreamshaper_8.safetensors"
            ),
            1
        );
        assert_eq!(wf.set_all("Nope", "x", "y"), 0);
        assert_eq!(wf.models()[0].name, "dreamshaper_8.safetensors");
        assert_eq!(
            wf.fill(&fill())["1"]["inputs"]["ckpt_name"],
            "dreamshaper_8.safetensors"
        );
    }

    #[test]
    fn broken_workflows_are_refused_naming_what_is_missing() {
        let t = Titles::default();
        let msg = Workflow::parse("{\"1\": ", &t).unwrap_err();
        assert!(msg.starts_with("not valid JSON (line 1"), "{msg}");
        let msg = Workflow::parse(r#"{"nodes": [], "links": []}"#, &t).unwrap_err();
        assert!(msg.contains("Save (API)"), "{msg}");
        let mut g = hand_written();
        g.as_object_mut().unwrap().remove("60");
        let msg = Workflow::parse(&g.to_string(), &t).unwrap_err();
        assert_eq!(msg, "the workflow has no KSampler node");
        let mut g = hand_written();
        g.as_object_mut().unwrap().remove("70");
        g.as_object_mut().unwrap().remove("51");
        let msg = Workflow::parse(&g.to_string(), &t).unwrap_err();
        assert!(msg.contains("no SaveImage node"), "{msg}");
        let mut g = hand_written();
        g.as_object_mut().unwrap().remove("51");
        g["60"]["inputs"]["positive"] = json!(["99", 0]);
        let msg = Workflow::parse(&g.to_string(), &t).unwrap_err();
        assert!(
            msg.contains("node \"99\", which is not in the workflow"),
            "{msg}"
        );
        let msg = Workflow::parse(r#"{"1": {"inputs": {}}}"#, &t).unwrap_err();
        assert!(msg.contains("no class_type"), "{msg}");
    }
}
