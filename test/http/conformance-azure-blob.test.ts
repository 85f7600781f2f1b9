import { describeConformance, LOCK_SECTIONS } from "../conformance/index.js";
import { azureBlobServiceTarget } from "./azure-blob-service.js";

// The lock half of the suite; conformance-azure-blob-coordination.test.ts runs the other half beside it.
describeConformance(azureBlobServiceTarget(), LOCK_SECTIONS);
