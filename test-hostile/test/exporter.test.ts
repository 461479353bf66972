import { hostileSuite } from "./suite.js";

hostileSuite("exporter");
