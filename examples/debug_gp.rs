use latina::config::Config;
use latina::domain::Trial;
use latina::ops::simulate::{contenders, panel};
use latina::ops::{Paths, Workspace};
use latina::ops::{rate::rate, suggest::suggest};
use latina::store::OpenMode;
use rand::SeedableRng;
fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().unwrap())
        .collect();
    let d = &panel()[args[0]];
    let c = contenders()[args[1]];
    let mut config = Config::default();
    config.optimizer.strategy = c.strategy;
    config.optimizer.batch = c.batch;
    let dir = std::path::PathBuf::from(format!("/tmp/dbg/{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ws = Workspace {
        config,
        paths: Paths {
            database: dir.join("x.db"),
            data_dir: dir.clone(),
        },
        seed: Some(1),
    };
    let arms: Vec<String> = vec!["tone".into(), "detail".into()];
    let mut store = ws.open_store(OpenMode::CreateIfMissing).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    for _ in 0..25 {
        for s in suggest(&ws, &mut store, 2).unwrap() {
            let t = Trial {
                provider: s.provider.clone(),
                params: s.params,
            };
            let stars = d.rate(&arms, &t, &mut rng);
            rate(&mut store, s.experiment_id.as_str(), stars, None, None).unwrap();
            println!(
                "{:<7} s={:.2} g={:.1} c={:.2} true={:.2} stars={} {:?} pred={:?}±{:?} ei={:?}",
                s.provider,
                s.params.init_strength,
                s.params.guidance_scale,
                s.params.controlnet_weight,
                d.true_quality(&arms, &t),
                stars.get(),
                s.method,
                s.explanation
                    .predicted_mean
                    .map(|v| (v * 100.0).round() / 100.0),
                s.explanation
                    .predicted_sd
                    .map(|v| (v * 100.0).round() / 100.0),
                s.explanation
                    .expected_improvement
                    .map(|v| (v * 1000.0).round() / 1000.0)
            );
        }
    }
    if let Some((_, j)) = store
        .cached_model("gp:tone,detail:[0.1, 0.5]:[5.0, 12.0]:[0.7, 0.99]")
        .unwrap()
    {
        println!("{j}");
    }
}
