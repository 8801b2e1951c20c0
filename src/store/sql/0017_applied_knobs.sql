-- latina schema 0017: which knobs each render applied, with the value sent
-- to its provider, and which the provider ignored.
--
-- JSON as written by `domain::AppliedKnobs`:
-- {"applied":[{"knob":"controlnet_weight","sent":0.8}],
--  "ignored":["init_strength","guidance_scale"]}.
-- NULL for renders made before this schema, for proposals not rendered yet
-- and for failed renders: what was applied is then unknown or moot.

ALTER TABLE experiments ADD COLUMN applied_knobs TEXT;
