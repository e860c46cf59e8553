from otter.test_files import test_case

OK_FORMAT = False

name = "todo2"
points = 1

@test_case(points=None, hidden=False)
def test_todo2(model_eta_small, history_eta_small):
    from hw5kit import public
    public.check_variable('model_eta_small', model_eta_small, history_eta_small)

