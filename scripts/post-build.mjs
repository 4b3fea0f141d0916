// The one Trunk post-build hook (Trunk.toml). Trunk runs the hooks of a stage concurrently, so
// the steps that must follow each other are run from here, in order.
await import('./emoji-data.mjs'); // the emoji picker's data, loaded on first use
await import('./shrink-glue.mjs'); // renames the wasm's imports, minifies the JS glue
await import('./name-by-content.mjs'); // names hashed files by what they now hold
await import('./precompress.mjs'); // writes .br and .gz copies of the final files
