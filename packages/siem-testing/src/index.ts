export { type AccountingStats, expectBalanced, isBalanced } from "./accounting.js";
export { type NodeRun, runNode } from "./run-node.js";
