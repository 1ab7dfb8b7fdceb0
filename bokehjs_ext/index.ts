import * as BokehLive from "./live"
export {BokehLive}

import {register_models} from "@bokehjs/base"
register_models(BokehLive)
