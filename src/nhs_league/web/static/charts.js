// Renders each chart spec (a <script type="application/json" data-chart-for="ID"> data block)
// into the element with that ID, with vega-embed. The Content-Security-Policy allows no eval and
// no inline styles, so expressions go through the vega expression interpreter and vega-embed's
// own <style> elements are turned off (static/site.css has what they would have set). Every
// chart's data is also in a table on the page: if anything here fails, the page is complete.
(function () {
  'use strict'

  var options = {
    ast: true,
    actions: false,
    renderer: 'svg',
    defaultStyle: false,
    tooltip: { disableDefaultStyle: true }
  }

  function render (block) {
    var target = document.getElementById(block.getAttribute('data-chart-for'))
    if (!target || typeof window.vegaEmbed !== 'function' || !window.vegaInterpreter) {
      return
    }
    var spec
    try {
      spec = JSON.parse(block.textContent)
    } catch (error) {
      return
    }
    options.expr = window.vegaInterpreter.expressionInterpreter
    window.vegaEmbed(target, spec, options).then(function () {
      var svg = target.querySelector('svg')
      if (svg && spec.description) {
        // Vega labels each mark; the whole chart gets the spec's one-line description.
        svg.setAttribute('role', 'graphics-document document')
        svg.setAttribute('aria-label', spec.description)
      }
      target.classList.add('app-chart--ready')
    }).catch(function (error) {
      target.hidden = true
      if (window.console) { window.console.error(error) }
    })
  }

  var blocks = document.querySelectorAll('script[type="application/json"][data-chart-for]')
  Array.prototype.forEach.call(blocks, render)
})()
