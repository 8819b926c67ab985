import "./lib/cli/mod.ts";
