//! Grouping comments beyond the lexicon: what designers keep saying, in
//! whatever words, as categories with a size, a mean rating and examples.
//!
//! Comments become vectors through a [`TextEmbedder`]; the offline one,
//! [`CharNgramTfIdf`], uses character n-grams (so `oscuro`, `oscura` and
//! `oscuridad` share most of their features) plus one feature per lexicon
//! issue, which is what lets `muy oscuro` and `too dark` meet: character
//! n-grams alone have nothing in common across languages. An
//! OpenAI-compatible `/embeddings` client can stand in for it; its vectors
//! can also be computed elsewhere (asynchronously) and handed to
//! [`categorise_vectors`].
//!
//! Vectors are grouped by average-linkage agglomerative clustering on
//! cosine similarity, merging while the mean similarity between two groups
//! is at least the threshold — O(n³), fine for the at most
//! [`MAX_CLUSTERED_COMMENTS`] recent comments. Everything is
//! deterministic: ties go to the lower index.
//!
//! Detecting the known issues is in `issues`; deciding what to change in
//! the prompt is the evolvers' business.

use super::issues::{self, Lexicon, TokenKind};
use super::{IssueCount, RatedComment};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most comments clustered at once; beyond this the newest are kept.
pub const MAX_CLUSTERED_COMMENTS: usize = 500;

/// Turns texts into vectors whose cosine similarity says how alike they
/// are. Implementations return one vector per text, all of one length.
pub trait TextEmbedder {
    /// Short name, e.g. `tfidf-char-3-5` or the model's.
    fn name(&self) -> String;

    /// One vector per text, in order.
    ///
    /// # Errors
    /// [`EmbedError`] when the vectors could not be made.
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError>;
}

/// Why comments could not be embedded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {embedder} embedder failed: {reason}")]
pub struct EmbedError {
    /// [`TextEmbedder::name`].
    pub embedder: String,
    /// What went wrong.
    pub reason: String,
}

/// Settings a [`CharNgramTfIdf`] refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("character n-gram TF-IDF: {0}")]
pub struct BadTfIdfSettings(&'static str);

/// Character n-gram TF-IDF with lexicon issue features, fitted on the
/// texts it is given.
///
/// Each word of the normalised text (see [`issues::normalise`]), stop words
/// left out, is padded with a space on each side and cut into n-grams of
/// `min_n..=max_n` characters (a padded word shorter than `min_n` counts
/// whole). Weights are `(1 + ln tf) · (ln((1 + N) / (1 + df)) + 1)` over
/// the `N` texts, and the n-gram part is L2-normalised. The issue part has
/// one entry per lexicon issue (1 if the comment reports it), L2-normalised
/// and scaled by `issue_weight`; the whole vector is then L2-normalised.
/// With weight 1, two comments reporting the same single issue in
/// different languages have similarity 0.5.
#[derive(Debug, Clone, PartialEq)]
pub struct CharNgramTfIdf {
    min_n: usize,
    max_n: usize,
    issue_weight: f32,
}

impl Default for CharNgramTfIdf {
    fn default() -> Self {
        CharNgramTfIdf {
            min_n: 3,
            max_n: 5,
            issue_weight: 1.0,
        }
    }
}

impl CharNgramTfIdf {
    /// N-grams of `min_n..=max_n` characters (1 ≤ min_n ≤ max_n ≤ 10);
    /// `issue_weight` ≥ 0 (0 leaves the lexicon out).
    ///
    /// # Errors
    /// [`BadTfIdfSettings`] for any other settings.
    pub fn new(
        min_n: usize,
        max_n: usize,
        issue_weight: f32,
    ) -> Result<CharNgramTfIdf, BadTfIdfSettings> {
        if min_n == 0 || min_n > max_n || max_n > 10 {
            return Err(BadTfIdfSettings("need 1 ≤ min_n ≤ max_n ≤ 10"));
        }
        if !issue_weight.is_finite() || issue_weight < 0.0 {
            return Err(BadTfIdfSettings("the issue weight must be finite and ≥ 0"));
        }
        Ok(CharNgramTfIdf {
            min_n,
            max_n,
            issue_weight,
        })
    }

    fn ngram_counts(&self, text: &str) -> BTreeMap<String, u32> {
        let mut counts = BTreeMap::new();
        for word in content_words(text) {
            let padded: Vec<char> = std::iter::once(' ')
                .chain(word.chars())
                .chain(std::iter::once(' '))
                .collect();
            if padded.len() < self.min_n {
                *counts.entry(padded.iter().collect()).or_default() += 1;
                continue;
            }
            for n in self.min_n..=self.max_n.min(padded.len()) {
                for gram in padded.windows(n) {
                    *counts.entry(gram.iter().collect()).or_default() += 1;
                }
            }
        }
        counts
    }
}

impl TextEmbedder for CharNgramTfIdf {
    fn name(&self) -> String {
        format!("tfidf-char-{}-{}", self.min_n, self.max_n)
    }

    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let lexicon = Lexicon::builtin();
        let keys: Vec<&str> = lexicon.keys().collect();
        let docs: Vec<BTreeMap<String, u32>> = texts.iter().map(|t| self.ngram_counts(t)).collect();
        let mut df: BTreeMap<&str, u32> = BTreeMap::new();
        for doc in &docs {
            for gram in doc.keys() {
                *df.entry(gram).or_default() += 1;
            }
        }
        let column: BTreeMap<&str, usize> = df.keys().enumerate().map(|(i, g)| (*g, i)).collect();
        let n = texts.len() as f32;
        let dim = df.len() + keys.len();
        let mut vectors = Vec::with_capacity(texts.len());
        for (text, doc) in texts.iter().zip(&docs) {
            let mut v = vec![0.0f32; dim];
            for (gram, &tf) in doc {
                let idf = ((1.0 + n) / (1.0 + df[gram.as_str()] as f32)).ln() + 1.0;
                v[column[gram.as_str()]] = (1.0 + (tf as f32).ln()) * idf;
            }
            normalise_in_place(&mut v[..df.len()]);
            if self.issue_weight > 0.0 {
                let issue_part = &mut v[df.len()..];
                for hit in lexicon.detect(text) {
                    if let Some(k) = keys.iter().position(|key| *key == hit.issue) {
                        issue_part[k] = 1.0;
                    }
                }
                normalise_in_place(issue_part);
                issue_part.iter_mut().for_each(|x| *x *= self.issue_weight);
            }
            normalise_in_place(&mut v);
            vectors.push(v);
        }
        Ok(vectors)
    }
}

fn normalise_in_place(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Words that say nothing about what a comment is about: articles,
/// prepositions, copulas, pronouns, intensifiers, negators (the lexicon
/// features already carry whether something is a complaint).
#[rustfmt::skip]
const STOP_WORDS: &[&str] = &[
    "el", "la", "los", "las", "lo", "un", "una", "unos", "unas", "de", "del", "al", "a", "con",
    "en", "por", "para", "que", "se", "me", "te", "le", "les", "nos", "mi", "su", "sus", "es",
    "son", "era", "esta", "estan", "este", "esto", "estos", "estas", "ese", "esa", "eso", "hay",
    "tiene", "ve", "ven", "muy", "mas", "bastante", "demasiado", "demasiada", "poco", "algo",
    "tan", "todo", "toda", "y", "e", "o", "u", "no", "ni", "pero", "sin", "como", "ya", "the", "a",
    "an", "of", "with", "in", "on", "at", "to", "for", "is", "are", "was", "were", "be", "it",
    "its", "this", "that", "and", "or", "but", "not", "no", "too", "very", "so", "quite", "bit",
    "little", "really", "looks", "look", "there", "all", "i", "my",
];

/// The words of a comment that say what it is about, normalised.
fn content_words(text: &str) -> Vec<String> {
    issues::tokenise(text)
        .into_iter()
        .filter(|t| t.kind == TokenKind::Word && !STOP_WORDS.contains(&t.text.as_str()))
        .map(|t| t.text)
        .collect()
}

/// Groups vectors by average-linkage agglomerative clustering: starting
/// from one group per vector, the two groups with the highest mean
/// pairwise cosine similarity are merged while that mean is at least
/// `threshold`. Zero vectors are similar to nothing. Returns groups of
/// indices, each ascending, ordered by their first index.
pub fn average_linkage(vectors: &[Vec<f32>], threshold: f64) -> Vec<Vec<usize>> {
    let n = vectors.len();
    let sparse: Vec<Vec<(usize, f64)>> = vectors.iter().map(|v| unit_sparse(v)).collect();
    let mut similarity = vec![vec![0.0f64; n]; n];
    for i in 0..n {
        for j in (i + 1)..n {
            let s = sparse_dot(&sparse[i], &sparse[j]);
            similarity[i][j] = s;
            similarity[j][i] = s;
        }
    }
    let mut members: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
    let mut active = vec![true; n];
    loop {
        let mut best: Option<(usize, usize, f64)> = None;
        for a in (0..n).filter(|&a| active[a]) {
            for b in ((a + 1)..n).filter(|&b| active[b]) {
                if best.is_none_or(|(_, _, s)| similarity[a][b] > s) {
                    best = Some((a, b, similarity[a][b]));
                }
            }
        }
        let Some((a, b, s)) = best else { break };
        if s.is_nan() || s < threshold {
            break;
        }
        // Lance–Williams update for average linkage: the mean similarity
        // to a merged group is the size-weighted mean of the two.
        let (size_a, size_b) = (members[a].len() as f64, members[b].len() as f64);
        for k in (0..n).filter(|&k| active[k] && k != a && k != b) {
            let merged =
                (size_a * similarity[a][k] + size_b * similarity[b][k]) / (size_a + size_b);
            similarity[a][k] = merged;
            similarity[k][a] = merged;
        }
        active[b] = false;
        let moved = std::mem::take(&mut members[b]);
        members[a].extend(moved);
        members[a].sort_unstable();
    }
    members.into_iter().filter(|m| !m.is_empty()).collect()
}

/// The non-zero entries of `v / |v|`, by index; empty for a zero or
/// non-finite vector.
fn unit_sparse(v: &[f32]) -> Vec<(usize, f64)> {
    let norm = v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
    if norm == 0.0 || !norm.is_finite() {
        return Vec::new();
    }
    v.iter()
        .enumerate()
        .filter(|(_, x)| **x != 0.0)
        .map(|(i, &x)| (i, f64::from(x) / norm))
        .collect()
}

fn sparse_dot(a: &[(usize, f64)], b: &[(usize, f64)]) -> f64 {
    let (mut i, mut j, mut sum) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                sum += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    sum
}

/// How to cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterOptions {
    /// Least mean cosine similarity (−1…1) at which two groups merge;
    /// higher gives more, tighter categories.
    pub threshold: f64,
    /// Most example comments per category.
    pub max_examples: usize,
    /// Most words in a label.
    pub label_terms: usize,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        // 0.3 keeps one complaint told in two languages together (similarity
        // 0.5 through the shared lexicon feature) and one complaint in one
        // language in other words (0.5–0.8 in the tests below), while
        // unrelated comments stay below 0.2. Praise and a complaint about
        // the same thing (`la iluminación está perfecta` / `es falsa`,
        // about 0.4) may share a category; its mean stars tell them apart.
        ClusterOptions {
            threshold: 0.3,
            max_examples: 3,
            label_terms: 3,
        }
    }
}

/// A group of comments that say the same thing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Category {
    /// Its most telling words, most telling first (`dark, oscuro, sala`).
    pub label: String,
    /// How many comments it holds.
    pub size: usize,
    /// Mean stars of those comments.
    pub mean_stars: f64,
    /// Up to [`ClusterOptions::max_examples`] comments, closest to the
    /// group's centre first.
    pub examples: Vec<String>,
    /// Lexicon issues its comments report, most reported first.
    pub issues: Vec<IssueCount>,
    /// Indices of its comments in the list given.
    pub members: Vec<usize>,
}

/// Clusters the comments (the first [`MAX_CLUSTERED_COMMENTS`], blank ones
/// left out) with `embedder`; largest category first, ties by earliest
/// comment.
///
/// # Errors
/// [`EmbedError`] when the embedder fails or returns vectors that do not
/// fit the texts (wrong count, uneven lengths, non-finite values).
pub fn categorise(
    comments: &[RatedComment],
    embedder: &dyn TextEmbedder,
    options: &ClusterOptions,
) -> Result<Vec<Category>, EmbedError> {
    let kept = clusterable(comments);
    let texts: Vec<String> = kept.iter().map(|&i| comments[i].comment.clone()).collect();
    let vectors = embedder.embed(&texts)?;
    let bad = |reason: String| EmbedError {
        embedder: embedder.name(),
        reason,
    };
    if vectors.len() != texts.len() {
        return Err(bad(format!(
            "{} vectors for {} texts",
            vectors.len(),
            texts.len()
        )));
    }
    if let Some(first) = vectors.first()
        && vectors.iter().any(|v| v.len() != first.len())
    {
        return Err(bad("vectors of different lengths".into()));
    }
    if vectors.iter().flatten().any(|x| !x.is_finite()) {
        return Err(bad("a vector has a non-finite value".into()));
    }
    let mut categories = categorise_vectors(&texts_of(comments, &kept), &vectors, options);
    for category in &mut categories {
        category.members = category.members.iter().map(|&m| kept[m]).collect();
    }
    Ok(categories)
}

/// [`categorise`] for comments already embedded, one vector per comment
/// (any length, compared by cosine similarity); `members` index into
/// `comments`.
pub fn categorise_vectors(
    comments: &[RatedComment],
    vectors: &[Vec<f32>],
    options: &ClusterOptions,
) -> Vec<Category> {
    let n = comments.len().min(vectors.len());
    let groups = average_linkage(&vectors[..n], options.threshold);
    let words: Vec<Vec<String>> = comments[..n]
        .iter()
        .map(|c| content_words(&c.comment))
        .collect();
    let spellings = spellings(&comments[..n]);
    let idf = word_idf(&words);
    let sparse: Vec<Vec<(usize, f64)>> = vectors[..n].iter().map(|v| unit_sparse(v)).collect();
    let lexicon = Lexicon::builtin();
    let mut categories: Vec<Category> = groups
        .into_iter()
        .map(|members| {
            let member_comments: Vec<RatedComment> =
                members.iter().map(|&m| comments[m].clone()).collect();
            let stars: u32 = member_comments.iter().map(|c| u32::from(c.stars)).sum();
            Category {
                label: label(&members, &words, &idf, &spellings, options.label_terms)
                    .unwrap_or_else(|| comments[members[0]].comment.trim().to_string()),
                size: members.len(),
                mean_stars: f64::from(stars) / members.len() as f64,
                examples: central(&members, &sparse)
                    .into_iter()
                    .take(options.max_examples)
                    .map(|m| comments[m].comment.trim().to_string())
                    .collect(),
                issues: lexicon.summarise(&member_comments),
                members,
            }
        })
        .collect();
    categories.sort_by(|a, b| {
        b.size
            .cmp(&a.size)
            .then_with(|| a.members[0].cmp(&b.members[0]))
    });
    categories
}

/// Indices of the comments worth clustering: the newest, non-blank.
/// The texts [`categorise`] asks its embedder for, in order: the non-blank
/// comments among the first [`MAX_CLUSTERED_COMMENTS`]. An asynchronous
/// client embeds these and hands them over as [`Precomputed`].
pub fn texts_to_embed(comments: &[RatedComment]) -> Vec<String> {
    clusterable(comments)
        .into_iter()
        .map(|i| comments[i].comment.clone())
        .collect()
}

/// Vectors made elsewhere (e.g. by the async `/embeddings` client) for
/// exactly [`texts_to_embed`]'s texts.
#[derive(Debug, Clone, PartialEq)]
pub struct Precomputed {
    /// Where they came from, e.g. `embeddings:text-embedding-3-small`.
    pub name: String,
    /// The texts embedded.
    pub texts: Vec<String>,
    /// One vector per text.
    pub vectors: Vec<Vec<f32>>,
}

impl TextEmbedder for Precomputed {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts != self.texts.as_slice() {
            return Err(EmbedError {
                embedder: self.name.clone(),
                reason: "asked for other texts than were embedded".into(),
            });
        }
        Ok(self.vectors.clone())
    }
}

fn clusterable(comments: &[RatedComment]) -> Vec<usize> {
    comments
        .iter()
        .enumerate()
        .take(MAX_CLUSTERED_COMMENTS)
        .filter(|(_, c)| !c.comment.trim().is_empty())
        .map(|(i, _)| i)
        .collect()
}

fn texts_of(comments: &[RatedComment], kept: &[usize]) -> Vec<RatedComment> {
    kept.iter().map(|&i| comments[i].clone()).collect()
}

/// Word forms that differ only by a final vowel or plural share a stem
/// (`oscuro`, `oscura`, `oscuros`; `colores`, `colors`), so a label does not
/// list one word three times.
fn stem(word: &str) -> &str {
    let w = word.strip_suffix('s').unwrap_or(word);
    let w = match w.strip_suffix(['a', 'o', 'e']) {
        Some(shorter) if shorter.chars().count() >= 3 => shorter,
        _ => w,
    };
    if w.chars().count() >= 3 { w } else { word }
}

/// For each stem, the lowercase spelling (accents kept) written most
/// often, ties alphabetical.
fn spellings(comments: &[RatedComment]) -> BTreeMap<String, String> {
    let mut seen: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for c in comments {
        for t in issues::tokenise(&c.comment) {
            if t.kind == TokenKind::Word && !STOP_WORDS.contains(&t.text.as_str()) {
                let written = c.comment[t.start..t.end].to_lowercase();
                *seen
                    .entry(stem(&t.text).to_string())
                    .or_default()
                    .entry(written)
                    .or_default() += 1;
            }
        }
    }
    seen.into_iter()
        .map(|(stem, forms)| {
            let best = forms
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                .map(|(form, _)| form.clone())
                .unwrap_or_default();
            (stem, best)
        })
        .collect()
}

/// Smoothed inverse document frequency of each stem over the comments.
fn word_idf(words: &[Vec<String>]) -> BTreeMap<String, f64> {
    let mut df: BTreeMap<String, usize> = BTreeMap::new();
    for comment in words {
        let mut stems: Vec<&str> = comment.iter().map(|w| stem(w)).collect();
        stems.sort_unstable();
        stems.dedup();
        for s in stems {
            *df.entry(s.to_string()).or_default() += 1;
        }
    }
    let n = words.len() as f64;
    df.into_iter()
        .map(|(s, d)| (s, ((1.0 + n) / (1.0 + d as f64)).ln() + 1.0))
        .collect()
}

/// The stems most shared within the group and rarest outside it: score is
/// (members using it) × idf, ties alphabetical.
fn label(
    members: &[usize],
    words: &[Vec<String>],
    idf: &BTreeMap<String, f64>,
    spellings: &BTreeMap<String, String>,
    terms: usize,
) -> Option<String> {
    let mut used: BTreeMap<&str, usize> = BTreeMap::new();
    for &m in members {
        let mut stems: Vec<&str> = words[m].iter().map(|w| stem(w)).collect();
        stems.sort_unstable();
        stems.dedup();
        for s in stems {
            *used.entry(s).or_default() += 1;
        }
    }
    let mut scored: Vec<(&str, f64)> = used
        .into_iter()
        .map(|(s, count)| (s, count as f64 * idf.get(s).copied().unwrap_or(1.0)))
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let picked: Vec<&str> = scored
        .iter()
        .take(terms)
        .map(|(s, _)| spellings.get(*s).map_or(*s, String::as_str))
        .collect();
    (!picked.is_empty()).then(|| picked.join(", "))
}

/// Members ordered by similarity to the group's centroid, highest first,
/// ties by index.
fn central(members: &[usize], sparse: &[Vec<(usize, f64)>]) -> Vec<usize> {
    let mut centroid: BTreeMap<usize, f64> = BTreeMap::new();
    for &m in members {
        for &(i, x) in &sparse[m] {
            *centroid.entry(i).or_default() += x;
        }
    }
    let centroid: Vec<(usize, f64)> = centroid.into_iter().collect();
    let mut ranked: Vec<(usize, f64)> = members
        .iter()
        .map(|&m| (m, sparse_dot(&sparse[m], &centroid)))
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.into_iter().map(|(m, _)| m).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rated(items: &[(u8, &str)]) -> Vec<RatedComment> {
        items
            .iter()
            .map(|&(stars, comment)| RatedComment {
                stars,
                comment: comment.into(),
            })
            .collect()
    }

    fn cosine(a: &[f32], b: &[f32]) -> f64 {
        sparse_dot(&unit_sparse(a), &unit_sparse(b))
    }

    const DARK: &[&str] = &[
        "muy oscuro",
        "demasiado oscura la sala",
        "too dark",
        "very dark room",
    ];
    const WASHED: &[&str] = &[
        "colores lavados",
        "washed out colours",
        "los colores están muy desaturados",
    ];
    const SOFA: &[&str] = &[
        "cambió el sofá por otro distinto",
        "el sofá es distinto al original",
    ];

    fn mixed() -> Vec<RatedComment> {
        // Interleaved so that grouping cannot lean on input order.
        rated(&[
            (2, DARK[0]),
            (3, WASHED[0]),
            (2, SOFA[0]),
            (1, DARK[1]),
            (3, WASHED[1]),
            (2, DARK[2]),
            (1, SOFA[1]),
            (2, WASHED[2]),
            (2, DARK[3]),
        ])
    }

    fn texts(category: &Category, comments: &[RatedComment]) -> Vec<String> {
        let mut t: Vec<String> = category
            .members
            .iter()
            .map(|&m| comments[m].comment.clone())
            .collect();
        t.sort();
        t
    }

    fn sorted(items: &[&str]) -> Vec<String> {
        let mut t: Vec<String> = items.iter().map(|s| s.to_string()).collect();
        t.sort();
        t
    }

    #[test]
    fn one_complaint_in_other_words_and_languages_groups_together() {
        let comments = mixed();
        let categories = categorise(
            &comments,
            &CharNgramTfIdf::default(),
            &ClusterOptions::default(),
        )
        .unwrap();
        let groups: Vec<Vec<String>> = categories.iter().map(|c| texts(c, &comments)).collect();
        assert_eq!(groups, [sorted(DARK), sorted(WASHED), sorted(SOFA)]);
        let dark = &categories[0];
        assert_eq!(dark.size, 4);
        assert!((dark.mean_stars - 1.75).abs() < 1e-12);
        assert_eq!(dark.issues[0].issue, "too_dark");
        assert_eq!(dark.issues[0].count, 4);
        assert_eq!(dark.examples.len(), 3);
        assert!(dark.label.contains("dark"), "{}", dark.label);
        assert_eq!(categories[1].issues[0].issue, "colors");
        // The sofa complaint is not in the lexicon: the n-grams alone
        // group it.
        assert!(categories[2].issues.is_empty());
        assert!(
            categories[2].label.contains("sofá"),
            "{}",
            categories[2].label
        );
    }

    #[test]
    fn unrelated_comments_stay_apart() {
        let comments = rated(&[
            (4, "me encanta el sofá"),
            (2, "too dark"),
            (3, "the rug is the wrong size"),
            (2, "colores lavados"),
        ]);
        let embedder = CharNgramTfIdf::default();
        let texts: Vec<String> = comments.iter().map(|c| c.comment.clone()).collect();
        let vectors = embedder.embed(&texts).unwrap();
        for i in 0..vectors.len() {
            for j in (i + 1)..vectors.len() {
                let s = cosine(&vectors[i], &vectors[j]);
                assert!(s < 0.15, "{:?} ~ {:?}: {s}", texts[i], texts[j]);
            }
        }
        let categories = categorise(&comments, &embedder, &ClusterOptions::default()).unwrap();
        assert_eq!(categories.len(), 4);
        assert!(categories.iter().all(|c| c.size == 1));
        // Same size: earliest comment first.
        let firsts: Vec<usize> = categories.iter().map(|c| c.members[0]).collect();
        assert_eq!(firsts, [0, 1, 2, 3]);
    }

    #[test]
    fn similarities_follow_shared_words_and_shared_issues() {
        let embedder = CharNgramTfIdf::default();
        let texts: Vec<String> = [
            "muy oscuro",
            "demasiado oscura la sala",
            "too dark",
            "colores lavados",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let v = embedder.embed(&texts).unwrap();
        for x in &v {
            let norm: f32 = x.iter().map(|a| a * a).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5);
        }
        let same_words = cosine(&v[0], &v[1]);
        let same_issue = cosine(&v[0], &v[2]);
        let unrelated = cosine(&v[0], &v[3]);
        assert!(same_words > same_issue, "{same_words} vs {same_issue}");
        assert!((same_issue - 0.5).abs() < 1e-5, "{same_issue}");
        assert!(unrelated < 0.1, "{unrelated}");
        // Without the lexicon features the two languages have nothing in
        // common.
        let plain = CharNgramTfIdf::new(3, 5, 0.0)
            .unwrap()
            .embed(&texts)
            .unwrap();
        assert!(cosine(&plain[0], &plain[2]).abs() < 1e-9);
        assert!(cosine(&plain[0], &plain[1]) > 0.3);
    }

    #[test]
    fn clustering_is_deterministic() {
        let comments = mixed();
        let options = ClusterOptions::default();
        let first = categorise(&comments, &CharNgramTfIdf::default(), &options).unwrap();
        for _ in 0..3 {
            let again = categorise(&comments, &CharNgramTfIdf::default(), &options).unwrap();
            assert_eq!(again, first);
        }
    }

    #[test]
    fn average_linkage_merges_by_mean_similarity() {
        // a, b very close; c close to b only: average linkage joins c to
        // {a, b} only when the mean of c·a and c·b clears the threshold.
        let v = vec![
            vec![1.0, 0.0, 0.0],
            vec![0.9, 0.436, 0.0],
            vec![0.3, 0.954, 0.0],
            vec![0.0, 0.0, 1.0],
            vec![0.0, 0.0, 0.0],
        ];
        // c·a = 0.3, c·b ≈ 0.686: mean ≈ 0.49.
        assert_eq!(average_linkage(&v, 0.45), [vec![0, 1, 2], vec![3], vec![4]]);
        assert_eq!(
            average_linkage(&v, 0.55),
            [vec![0, 1], vec![2], vec![3], vec![4]]
        );
        assert_eq!(average_linkage(&v, 1.01).len(), 5);
        assert!(average_linkage(&[], 0.3).is_empty());
    }

    #[test]
    fn examples_are_the_most_central_comments() {
        // Three vectors on an arc: the middle one is nearest the centroid,
        // then the first (2.65 against 2.59 for the last).
        let comments = rated(&[(1, "a"), (2, "b"), (3, "c")]);
        let vectors = vec![vec![1.0, 0.0], vec![0.95, 0.31], vec![0.7, 0.714]];
        let options = ClusterOptions {
            threshold: 0.5,
            max_examples: 2,
            label_terms: 3,
        };
        let categories = categorise_vectors(&comments, &vectors, &options);
        assert_eq!(categories.len(), 1);
        assert_eq!(categories[0].examples, ["b", "a"]);
        assert_eq!(categories[0].members, [0, 1, 2]);
        assert!((categories[0].mean_stars - 2.0).abs() < 1e-12);
    }

    #[test]
    fn labels_merge_word_forms_and_keep_accents() {
        let comments = rated(&[
            (1, "Muy oscura la habitación"),
            (1, "oscuro, habitación triste"),
            (1, "habitación oscura"),
        ]);
        let categories = categorise(
            &comments,
            &CharNgramTfIdf::default(),
            &ClusterOptions::default(),
        )
        .unwrap();
        assert_eq!(categories.len(), 1);
        let label = &categories[0].label;
        assert!(label.starts_with("habitación, oscura"), "{label}");
        assert!(!label.contains("oscuro"), "{label}");
        assert_eq!(stem("colores"), stem("colors"));
        assert_eq!(stem("planos"), stem("plana"));
    }

    #[test]
    fn blank_comments_are_left_out_and_members_point_into_the_input() {
        let comments = rated(&[(3, "  "), (2, "too dark"), (5, ""), (2, "very dark")]);
        let categories = categorise(
            &comments,
            &CharNgramTfIdf::default(),
            &ClusterOptions::default(),
        )
        .unwrap();
        assert_eq!(categories.len(), 1);
        assert_eq!(categories[0].members, [1, 3]);
        assert!(
            categorise(&[], &CharNgramTfIdf::default(), &ClusterOptions::default())
                .unwrap()
                .is_empty()
        );
    }

    struct Broken(Vec<Vec<f32>>);

    impl TextEmbedder for Broken {
        fn name(&self) -> String {
            "broken".into()
        }
        fn embed(&self, _: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
            Ok(self.0.clone())
        }
    }

    #[test]
    fn vectors_that_do_not_fit_the_texts_are_refused() {
        let comments = rated(&[(1, "a"), (2, "b")]);
        let options = ClusterOptions::default();
        for (vectors, expected) in [
            (vec![vec![1.0]], "1 vectors for 2 texts"),
            (vec![vec![1.0], vec![1.0, 0.0]], "different lengths"),
            (vec![vec![f32::NAN], vec![1.0]], "non-finite"),
        ] {
            let err = categorise(&comments, &Broken(vectors), &options).unwrap_err();
            assert_eq!(err.embedder, "broken");
            assert!(err.to_string().contains(expected), "{err}");
        }
    }

    #[test]
    fn tfidf_settings_are_checked_once() {
        assert!(CharNgramTfIdf::new(0, 3, 1.0).is_err());
        assert!(CharNgramTfIdf::new(4, 3, 1.0).is_err());
        assert!(CharNgramTfIdf::new(3, 11, 1.0).is_err());
        assert!(CharNgramTfIdf::new(3, 5, -1.0).is_err());
        assert!(CharNgramTfIdf::new(3, 5, f32::NAN).is_err());
        assert_eq!(CharNgramTfIdf::default().name(), "tfidf-char-3-5");
    }

    #[test]
    fn a_few_hundred_comments_cluster_quickly() {
        let base = [
            "muy oscuro",
            "too dark",
            "colores lavados",
            "washed out colours",
            "se ve plano",
            "looks flat",
            "borroso",
            "blurry",
            "el sofá cambió",
            "extra chair appeared",
        ];
        let comments: Vec<RatedComment> = (0..MAX_CLUSTERED_COMMENTS + 20)
            .map(|i| RatedComment {
                stars: (i % 5 + 1) as u8,
                comment: format!("{} {}", base[i % base.len()], i % 7),
            })
            .collect();
        let start = std::time::Instant::now();
        let categories = categorise(
            &comments,
            &CharNgramTfIdf::default(),
            &ClusterOptions::default(),
        )
        .unwrap();
        let total: usize = categories.iter().map(|c| c.size).sum();
        assert_eq!(total, MAX_CLUSTERED_COMMENTS);
        assert!(categories.len() <= 20, "{}", categories.len());
        assert!(start.elapsed().as_secs() < 30);
    }
}
