"""A real browser on the live map: headless Chromium driven by WebDriver (Debian's chromium and
chromium-driver, PyPI selenium) against a live monnemo-server."""
import json
import os
import shutil
import time
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT, STRICT, dependency_missing, fix

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    if STRICT:  # make test installs selenium: its absence fails the run
        raise
    pytest.skip('selenium (PyPI) is not installed; `make deps` installs it', allow_module_level=True)

ARTIFACTS = os.path.join(ROOT, 'artifacts')
NS = {'g': 'http://www.topografix.com/GPX/1/1'}


def route(name, n):
    root = ET.parse(os.path.join(ROOT, 'Sensors', 'traces', f'tdf-{name}.gpx')).getroot()
    pts = root.findall('.//g:trkpt', NS)[:n]
    return [(float(p.get('lat')), float(p.get('lon'))) for p in pts]


def chrome(width=1280, height=800, phone=False):
    chromium = shutil.which('chromium') or shutil.which('chromium-browser')
    driver_path = shutil.which('chromedriver') or '/usr/bin/chromedriver'
    if not chromium or not os.path.exists(driver_path):
        dependency_missing('chromium/chromium-driver not installed; `make deps` installs them')
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for a in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
              f'--window-size={width},{height}', '--no-first-run', '--disable-extensions'):
        opts.add_argument(a)
    opts.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    if phone:  # desktop windows have a minimum width; emulate the phone's viewport instead
        opts.add_experimental_option('mobileEmulation', {
            'deviceMetrics': {'width': width, 'height': height, 'pixelRatio': 3.0, 'touch': True}})
    return webdriver.Chrome(service=Service(driver_path), options=opts)


def assert_car_video_plays(driver, timeout=15):
    """Opens the car's panel on a loaded map page and waits for its live video (a 320-pixel-wide
    MJPEG from `xcast6 recv --serve`) to show; then three different frames within 10 s."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    driver.find_element(By.CSS_SELECTOR, 'button[data-vehicle="car"]').click()
    live = driver.find_element(By.ID, 'd-live')
    WebDriverWait(driver, timeout).until(lambda d: live.is_displayed() and d.execute_script(
        'return arguments[0].naturalWidth', live) == 320)
    shots = set()
    deadline = time.time() + 10
    while time.time() < deadline and len(shots) < 3:
        shots.add(live.screenshot_as_png)
        time.sleep(0.5)
    assert len(shots) >= 3, 'the live video does not change'


@pytest.fixture
def demo(server):
    tokens = {v: server.add_vehicle(v, '--name', n) for v, n in
              (('bike-1', 'Bicycle 1'), ('bike-2', 'Bicycle 2'), ('car', 'Car'))}
    server.start()
    now = time.time() - 600
    for v, token in tokens.items():
        pts = route(v, 300)
        records = [fix(i + 1, now + i, lat=lat, lon=lon, speed=8.5) for i, (lat, lon) in enumerate(pts)]
        records += [{'seq': 10_000 + k, 'time': records[k * 30]['time'], 'kind': 'climate',
                     'temperature': 24.0 + k * 0.1, 'humidity': 50.0 - k * 0.2} for k in range(10)]
        status, body, _ = server.post_batch(token, records)
        assert status == 200, body
    return server, tokens, now


def marker_position(driver, vid):
    return driver.execute_script(
        "const m = document.querySelector('.vehicle-marker[data-vehicle=\"' + arguments[0] + '\"]');"
        "if (!m) return null; const r = m.getBoundingClientRect(); return [r.left, r.top];", vid)


def severe_console_entries(driver):
    return [e for e in driver.get_log('browser') if e['level'] == 'SEVERE']


def test_live_map_in_headless_chromium(demo):
    server, tokens, t0 = demo
    os.makedirs(ARTIFACTS, exist_ok=True)
    driver = chrome()
    try:
        start = time.time()
        driver.get(server.url + '/')
        WebDriverWait(driver, 20).until(lambda d: d.execute_script('return document.body.dataset.ready') == 'true')
        first_view = time.time() - start
        for v in tokens:
            assert marker_position(driver, v) is not None, f'no marker for {v}'
        lines = driver.execute_script(
            'return Array.from(window.nautilus.vehicles.values()).filter(v => v.line.getLatLngs().length > 10).length')
        assert lines == 3, 'tracks are not drawn'
        assert driver.find_elements(By.CSS_SELECTOR, '.leaflet-overlay-pane canvas'), 'no track layer on the map'

        # A new fix moves the car's marker within a second.
        before = marker_position(driver, 'car')
        last = route('car', 300)[-1]
        status, _, _ = server.post_batch(tokens['car'], [fix(5000, t0 + 400, lat=last[0] + 0.01, lon=last[1] + 0.01)])
        assert status == 200
        posted = time.time()
        moved_at = None
        while time.time() - posted < 5:
            if marker_position(driver, 'car') != before:
                moved_at = time.time()
                break
            time.sleep(0.02)
        assert moved_at is not None, 'the marker did not move after a new fix'
        latency = moved_at - posted
        assert latency < 1.0, f'the marker moved {latency:.2f} s after the fix was acknowledged'

        # The popup shows temperature and humidity.
        driver.execute_script("document.querySelector('.vehicle-marker[data-vehicle=\"bike-1\"]').click()")
        # The popup fades in: wait until its text is visible rather than merely present.
        text = WebDriverWait(driver, 10).until(
            lambda d: (lambda els: els[0].text if els and 'Temperature' in els[0].text else None)(
                d.find_elements(By.CSS_SELECTOR, '.leaflet-popup-content .popup')))
        assert 'Temperature' in text and '°C' in text and 'Humidity' in text and '%' in text, text
        assert '24.9 °C' in text, text  # the latest climate reading of bike-1
        # The side panel with its charts.
        WebDriverWait(driver, 5).until(lambda d: d.find_element(By.ID, 'details').is_displayed())
        WebDriverWait(driver, 5).until(lambda d: d.find_elements(By.CSS_SELECTOR, '#chart-temp polyline'))

        driver.save_screenshot(os.path.join(ARTIFACTS, 'map.png'))
        # History replay: moving the slider to the start moves markers back along the track.
        driver.execute_script("const s = document.getElementById('slider'); s.value = '0'; s.dispatchEvent(new Event('input'));")
        assert driver.find_element(By.ID, 'slider-time').text != 'live'
        driver.save_screenshot(os.path.join(ARTIFACTS, 'map-replay.png'))
        driver.execute_script("document.getElementById('live-button').click()")

        severe = severe_console_entries(driver)
        assert not severe, f'console errors: {severe}'
        with open(os.path.join(ARTIFACTS, 'browser-figures.json'), 'w') as f:
            json.dump({'first_view_s': first_view, 'marker_latency_s': latency}, f)
    finally:
        driver.quit()


def test_phone_sized_screen(demo):
    server, _, _ = demo
    driver = chrome(390, 844, phone=True)
    try:
        driver.get(server.url + '/')
        WebDriverWait(driver, 20).until(lambda d: d.execute_script('return document.body.dataset.ready') == 'true')
        map_box = driver.find_element(By.ID, 'map').rect
        panel = driver.find_element(By.ID, 'panel').rect
        assert map_box['width'] <= 390 and panel['width'] <= 390
        assert panel['y'] >= map_box['y'] + map_box['height'] - 1, 'the panel should sit below the map on a phone'
        assert driver.find_elements(By.CSS_SELECTOR, '#vehicle-list button')
        os.makedirs(ARTIFACTS, exist_ok=True)
        driver.save_screenshot(os.path.join(ARTIFACTS, 'map-phone.png'))
        assert not severe_console_entries(driver)
    finally:
        driver.quit()


HOSTILE_NAME = '<img src=x onerror="document.body.dataset.pwned=1">"\'&<script>document.body.dataset.pwned=2</script>'


def test_hostile_vehicle_name_renders_as_text(server):
    """A vehicle name is the operator's or a stranger's text: it shows as text, no script runs, and the
    page stays within its Content-Security-Policy (a violation would be a console error)."""
    token = server.add_vehicle('evil', '--name', HOSTILE_NAME)
    server.start()
    status, body, _ = server.post_batch(token, [fix(1, time.time() - 60, lat=43.0, lon=0.1)])
    assert status == 200, body
    driver = chrome()
    try:
        driver.get(server.url + '/')
        WebDriverWait(driver, 20).until(lambda d: d.execute_script('return document.body.dataset.ready') == 'true')
        names = [e.text for e in driver.find_elements(By.CSS_SELECTOR, '#vehicle-list .vehicle-name')]
        assert names == [HOSTILE_NAME], names
        driver.execute_script("document.querySelector('.vehicle-marker[data-vehicle=\"evil\"]').click()")
        popup = WebDriverWait(driver, 10).until(
            lambda d: (lambda els: els[0] if els and els[0].text else None)(
                d.find_elements(By.CSS_SELECTOR, '.leaflet-popup-content .popup strong')))
        assert popup.text == HOSTILE_NAME
        assert driver.find_element(By.ID, 'details-title').text == HOSTILE_NAME
        time.sleep(0.5)  # an injected onerror handler would have fired by now
        assert driver.execute_script('return document.body.dataset.pwned') is None, 'script from the name ran'
        assert not driver.find_elements(By.CSS_SELECTOR, 'img[src="x"], #vehicle-list script, .leaflet-popup script')
        csp = driver.execute_script(
            "const m = document.querySelector('meta[http-equiv=\"Content-Security-Policy\"]'); return m && m.content")
        assert csp and "script-src 'self'" in csp and "style-src 'self'" in csp, csp
        # The server sends the stricter policy as a header too (frame-ancestors works only there).
        status, _, headers = server.get('/')
        header = headers.get('Content-Security-Policy', '')
        assert status == 200 and "script-src 'self'" in header and "frame-ancestors 'none'" in header, headers
        assert 'unsafe-inline' not in header and headers.get('X-Content-Type-Options') == 'nosniff'
        severe = severe_console_entries(driver)
        assert not severe, f'console errors (a CSP violation is one): {severe}'
    finally:
        driver.quit()


def test_page_recovers_from_a_refused_fetch(demo):
    """The vehicle list is refused on first load (the request blocked in the browser); once the server
    can be reached again the page loads the vehicles by itself, without a reload."""
    server, tokens, _ = demo
    driver = chrome()
    try:
        driver.execute_cdp_cmd('Network.enable', {})
        driver.execute_cdp_cmd('Network.setBlockedURLs', {'urls': ['*/api/v1/vehicles']})
        driver.get(server.url + '/')
        WebDriverWait(driver, 20).until(lambda d: 'Could not load vehicles' in d.find_element(By.ID, 'status').text)
        assert not driver.find_elements(By.CSS_SELECTOR, '#vehicle-list button')
        driver.execute_cdp_cmd('Network.setBlockedURLs', {'urls': []})
        WebDriverWait(driver, 30).until(lambda d: d.execute_script('return document.body.dataset.ready') == 'true')
        assert len(driver.find_elements(By.CSS_SELECTOR, '#vehicle-list button')) == len(tokens)
        for v in tokens:
            assert marker_position(driver, v) is not None, f'no marker for {v} after recovering'
    finally:
        driver.quit()


@pytest.mark.parametrize('width', [360, 390])
def test_no_horizontal_overflow_on_phones(demo, width):
    """Chromium's mobile emulation at phone widths: the page is no wider than the screen (no sideways
    scrolling) and the Live button is wholly on screen."""
    server, _, _ = demo
    driver = chrome(width, 800, phone=True)
    try:
        driver.get(server.url + '/')
        WebDriverWait(driver, 20).until(lambda d: d.execute_script('return document.body.dataset.ready') == 'true')
        scroll_width = driver.execute_script('return document.documentElement.scrollWidth')
        assert scroll_width <= width, f'the page lays out {scroll_width} px wide on a {width} px screen'
        live = driver.execute_script(
            "const r = document.getElementById('live-button').getBoundingClientRect(); return [r.left, r.right];")
        assert 0 <= live[0] and live[1] <= width, f'the Live button spans {live} on a {width} px screen'
        os.makedirs(ARTIFACTS, exist_ok=True)
        driver.save_screenshot(os.path.join(ARTIFACTS, f'map-phone-{width}.png'))
    finally:
        driver.quit()


def handover(seq, t, frm, to, from_tech, to_tech, cause='uplink-lost', lat=None, lon=None):
    """A SONAR handover record as a mobile router's agent posts it (docs/telemetry-api.md)."""
    rec = {'seq': seq, 'time': fix(0, t)['time'], 'kind': 'handover', 'to': to, 'to_tech': to_tech, 'cause': cause,
           'delay_ms': 40.5, 'outage_ms': 120, 'lost': 3}
    if frm is not None:
        rec.update({'from': frm, 'from_tech': from_tech})
    if lat is not None:
        rec.update({'lat': lat, 'lon': lon})
    return rec


def handover_markers(driver, selector='.handover-marker'):
    return driver.find_elements(By.CSS_SELECTOR, selector)


def segment_techs(driver):
    """The technologies of the track's segments, in drawing order (SVG paths with `data-tech`)."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('path.track-tech')).map(p => p.dataset.tech)")


def test_handovers_colour_the_track_mark_the_map_and_arrive_live(server):
    """Fixes along a line with handovers between them: the track is drawn in segments by the uplink's
    technology (neutral before the first handover), each handover has a marker whose popup names the
    change, the panel shows the current uplink, and a handover posted later appears live and recolours
    the track after it."""
    token = server.add_vehicle('router-car', '--name', 'Router car')
    server.start()
    t0 = time.time() - 600
    fixes = [fix(i + 1, t0 + i * 5, lat=48.0 + i * 0.002, lon=2.0 + i * 0.002) for i in range(60)]
    def at(i):
        return fixes[i]['lat'], fixes[i]['lon']
    handovers = [
        handover(101, t0 + 50, None, 'wlan0', None, 'wlan', cause='startup', lat=at(10)[0], lon=at(10)[1]),
        handover(102, t0 + 125, 'wlan0', 'wwan0', 'wlan', 'cellular', lat=at(25)[0], lon=at(25)[1]),
        # No position: drawn at the track point nearest in time.
        handover(103, t0 + 200, 'wwan0', 'sat0', 'cellular', 'satellite', cause='preferred-uplink'),
    ]
    status, body, _ = server.post_batch(token, fixes + handovers)
    assert status == 200, body
    driver = chrome()
    try:
        driver.get(server.url + '/')
        WebDriverWait(driver, 20).until(lambda d: d.execute_script('return document.body.dataset.ready') == 'true')
        # One marker per handover; those with a position are where the record says.
        assert len(handover_markers(driver)) == 3
        assert len(handover_markers(driver, '.handover-marker:not(.handover-marker-estimated)')) == 2
        # The track in segments of at least two technologies, each its own colour, neutral first.
        techs = segment_techs(driver)
        assert techs == ['none', 'wlan', 'cellular', 'satellite'], techs
        strokes = set(driver.execute_script(
            "return Array.from(document.querySelectorAll('path.track-tech')).map(p => p.getAttribute('stroke'))"))
        assert len(strokes) >= 2, strokes
        assert driver.find_element(By.ID, 'tech-legend').is_displayed()

        # The popup of the wlan0 → wwan0 handover.
        driver.execute_script(
            "document.querySelector('.handover-marker[data-seq=\"102\"]')"
            ".dispatchEvent(new MouseEvent('click', {bubbles: true}))")
        text = WebDriverWait(driver, 10).until(
            lambda d: (lambda els: els[0].text if els and 'wlan0' in els[0].text else None)(
                d.find_elements(By.CSS_SELECTOR, '.leaflet-popup-content .handover-popup')))
        assert 'wlan0 → wwan0' in text and '(wlan → cellular)' in text, text
        assert 'uplink-lost' in text and '40.5 ms' in text and '120 ms' in text and 'Packets lost' in text, text

        # The panel: the current uplink and the last handovers.
        driver.find_element(By.CSS_SELECTOR, 'button[data-vehicle="router-car"]').click()
        WebDriverWait(driver, 5).until(lambda d: d.find_element(By.ID, 'details').is_displayed())
        assert driver.find_element(By.ID, 'd-uplink').text == 'sat0 (Satellite)'
        items = [e.text for e in driver.find_elements(By.CSS_SELECTOR, '#d-handovers .handover-item')]
        assert len(items) == 3 and 'wwan0 → sat0' in items[0], items

        # A handover posted now: its marker appears and the track after it turns cellular.
        status, body, _ = server.post_batch(token, [
            handover(104, t0 + 250, 'sat0', 'wwan0', 'satellite', 'cellular', lat=at(50)[0], lon=at(50)[1])])
        assert status == 200, body
        WebDriverWait(driver, 10).until(lambda d: len(handover_markers(d)) == 4)
        WebDriverWait(driver, 10).until(
            lambda d: segment_techs(d) == ['none', 'wlan', 'cellular', 'satellite', 'cellular'])
        WebDriverWait(driver, 5).until(lambda d: d.find_element(By.ID, 'd-uplink').text == 'wwan0 (Cellular)')
        os.makedirs(ARTIFACTS, exist_ok=True)
        driver.save_screenshot(os.path.join(ARTIFACTS, 'map-handovers.png'))

        # Replay: at the start of the history no handover has happened yet; back to live, all four.
        driver.execute_script("const s = document.getElementById('slider'); s.value = '0'; s.dispatchEvent(new Event('input'));")
        assert len(handover_markers(driver)) == 0
        assert driver.find_element(By.ID, 'd-uplink').text == '–'
        driver.execute_script("document.getElementById('live-button').click()")
        assert len(handover_markers(driver)) == 4
        assert segment_techs(driver) == ['none', 'wlan', 'cellular', 'satellite', 'cellular']
        severe = severe_console_entries(driver)
        assert not severe, f'console errors: {severe}'
    finally:
        driver.quit()
