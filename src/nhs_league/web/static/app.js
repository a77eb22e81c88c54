// NHS.UK frontend components (header menu, skip link, error summary, buttons). Loaded as a
// module, so browsers too old for the components skip it and the pages work without it.
import { initAll } from './vendor/nhsuk-frontend.min.js'

document.body.classList.add('js-enabled', 'nhsuk-frontend-supported')
initAll()
