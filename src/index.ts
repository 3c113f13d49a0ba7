// Public entry point of babylon-semantic-splatting.
export const VERSION = "0.1.0";
export { SemanticSplatError, isSemanticError, type SemanticErrorCode } from "./errors";
export * from "./formats";
export * from "./mesh";
