import { memoryAdapter } from "../../src/index.js";
import { describeConformance } from "../conformance/index.js";

describeConformance({ name: "memory", transport: "adapter", create: () => memoryAdapter() });
