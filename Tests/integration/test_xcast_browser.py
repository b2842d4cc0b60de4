"""The map page shows a vehicle's live video (xcast6 → `xcast6 recv --serve` MJPEG) in its panel,
with frames that change, and says "no live video" for a vehicle without a stream. Headless Chromium."""
import os
import time

import pytest

from conftest import ServerProcess, fix
from test_browser import assert_car_video_plays, chrome
from xcast_support import Procs, free_udp_ports, wait_for, xcast6_binary

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture
def procs(tmp_path):
    p = Procs(str(tmp_path))
    yield p
    p.stop_all()


def test_vehicle_panel_shows_live_video(procs, data_dir):
    import socket
    xc = xcast6_binary()
    (rtp,) = free_udp_ports(1)
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.bind(('::1', 0))
    http = s.getsockname()[1]
    s.close()
    recv = procs.start('recv', [xc, 'recv', '--listen', f'[::1]:{rtp}', '--serve', f'[::1]:{http}'])
    send = procs.start('send', [xc, 'send', '--camera', 'test', '--size', '320x240', '--fps', '10', '--duration', '120',
                                '--receiver', f'[::1]:{rtp}', '--allow-loopback'])
    server = ServerProcess(data_dir, extra=['--live-video', f'car=http://[::1]:{http}/stream.mjpg'])
    tokens = {v: server.add_vehicle(v, '--name', n) for v, n in (('car', 'Car'), ('bike-1', 'Bicycle 1'))}
    try:
        server.start()
        now = time.time() - 60
        for i, (v, token) in enumerate(tokens.items()):
            status, body, _ = server.post_batch(token, [fix(1, now, lat=45.0 + i * 0.01, lon=6.0)])
            assert status == 200, body
        driver = chrome()
        try:
            driver.get(server.url + '/')
            WebDriverWait(driver, 20).until(lambda d: d.execute_script('return document.body.dataset.ready') == 'true')
            assert_car_video_plays(driver, timeout=15)
            assert driver.find_element(By.ID, 'd-live-caption').text == 'live video'
            driver.find_element(By.CSS_SELECTOR, 'button[data-vehicle="bike-1"]').click()
            WebDriverWait(driver, 5).until(lambda d: d.find_element(By.ID, 'd-live-caption').text == 'no live video')
            assert not driver.find_element(By.ID, 'd-live').is_displayed()
        finally:
            driver.quit()
    finally:
        server.kill()
    assert recv.poll() is None and send.poll() is None, procs.log(recv) + procs.log(send)
