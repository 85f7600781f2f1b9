import { COORDINATION_SECTIONS, describeConformance } from "../conformance/index.js";
import { azureBlobServiceTarget } from "./azure-blob-service.js";

// The half built on the lock, in its own file so that it runs beside the lock half: 15 s leases make each minutes long.
describeConformance(azureBlobServiceTarget(), COORDINATION_SECTIONS);
