import { hostileSuite } from "./suite.js";

hostileSuite("dsl");
